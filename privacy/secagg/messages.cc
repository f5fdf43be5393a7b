#include "privacy/secagg/messages.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/wire.h"

namespace scancov::privacy::secagg {
namespace {

constexpr uint32_t kMagic = 0x41534353;  // "SCSA" little-endian
constexpr uint8_t kVersion = 1;
constexpr size_t kMaxSignatureBytes = 1024;
constexpr size_t kMaxCiphertextBytes = 2048;

enum class Type : uint8_t {
  kKeyAdvert = 1,
  kAdvertList,
  kShareKeys,
  kShareBundle,
  kSharePlaintext,
  kMaskedInput,
  kUnmaskRequest,
  kUnmaskResponse,
};

void WriteHeader(WireWriter& w, Type type) {
  w.U32(kMagic);
  w.U8(kVersion);
  w.U8(static_cast<uint8_t>(type));
}

absl::Status ReadHeader(WireReader& r, Type type, absl::string_view what) {
  uint32_t magic = 0;
  uint8_t version = 0, got = 0;
  SCV_RETURN_IF_ERROR(r.U32("magic", &magic));
  if (magic != kMagic)
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a secagg message"));
  SCV_RETURN_IF_ERROR(r.U8("version", &version));
  if (version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": version ", version, ", expected ", kVersion));
  }
  SCV_RETURN_IF_ERROR(r.U8("type", &got));
  if (got != static_cast<uint8_t>(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": message type ", got, ", expected ", static_cast<int>(type)));
  }
  return absl::OkStatus();
}

void WriteSession(WireWriter& w, absl::string_view study, uint64_t round) {
  w.Bytes(study);
  w.U64(round);
}

absl::Status ReadSession(WireReader& r, std::string* study, uint64_t* round) {
  SCV_RETURN_IF_ERROR(r.Bytes("study_id", kMaxIdBytes, study));
  return r.U64("round", round);
}

void WriteAdvertBody(WireWriter& w, const KeyAdvert& a) {
  WriteSession(w, a.study_id, a.round);
  w.Bytes(a.site_id);
  w.Bytes(absl::MakeConstSpan(a.c_public));
  w.Bytes(absl::MakeConstSpan(a.s_public));
  w.Bytes(a.signature);
}

absl::Status ReadAdvertBody(WireReader& r, KeyAdvert* a) {
  SCV_RETURN_IF_ERROR(ReadSession(r, &a->study_id, &a->round));
  SCV_RETURN_IF_ERROR(r.Bytes("site_id", kMaxIdBytes, &a->site_id));
  SCV_RETURN_IF_ERROR(r.Fixed("c_public", absl::MakeSpan(a->c_public)));
  SCV_RETURN_IF_ERROR(r.Fixed("s_public", absl::MakeSpan(a->s_public)));
  return r.Bytes("signature", kMaxSignatureBytes, &a->signature);
}

void WriteShares(WireWriter& w, const std::vector<EncryptedShare>& shares) {
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const EncryptedShare& s : shares) {
    w.Bytes(s.sender);
    w.Bytes(s.recipient);
    w.Bytes(s.ciphertext);
  }
}

absl::Status ReadShares(WireReader& r, std::vector<EncryptedShare>* shares) {
  uint32_t count = 0;
  SCV_RETURN_IF_ERROR(r.Count("shares", kMaxSites, &count));
  shares->resize(count);
  for (EncryptedShare& s : *shares) {
    SCV_RETURN_IF_ERROR(r.Bytes("sender", kMaxIdBytes, &s.sender));
    SCV_RETURN_IF_ERROR(r.Bytes("recipient", kMaxIdBytes, &s.recipient));
    SCV_RETURN_IF_ERROR(r.Bytes("ciphertext", kMaxCiphertextBytes, &s.ciphertext));
  }
  return absl::OkStatus();
}

void WriteShamir(WireWriter& w, const ShamirShare& s) {
  w.U8(s.index);
  w.Bytes(absl::MakeConstSpan(s.value));
}

absl::Status ReadShamir(WireReader& r, ShamirShare* s) {
  SCV_RETURN_IF_ERROR(r.U8("share_index", &s->index));
  return r.Fixed("share_value", absl::MakeSpan(s->value));
}

void WriteIds(WireWriter& w, const std::vector<std::string>& ids) {
  w.U32(static_cast<uint32_t>(ids.size()));
  for (const std::string& id : ids) w.Bytes(id);
}

absl::Status ReadIds(WireReader& r, const char* field, std::vector<std::string>* ids) {
  uint32_t count = 0;
  SCV_RETURN_IF_ERROR(r.Count(field, kMaxSites, &count));
  ids->resize(count);
  for (std::string& id : *ids) SCV_RETURN_IF_ERROR(r.Bytes(field, kMaxIdBytes, &id));
  return absl::OkStatus();
}

// Parses `bytes` as message T: header, then `body`, then nothing.
template <typename T, typename Body>
absl::StatusOr<T> ParseWith(absl::string_view bytes, Type type, const char* what, Body body) {
  WireReader r(bytes, what);
  T out;
  SCV_RETURN_IF_ERROR(ReadHeader(r, type, what));
  SCV_RETURN_IF_ERROR(body(r, out));
  SCV_RETURN_IF_ERROR(r.Done());
  return out;
}

}  // namespace

std::string KeyAdvert::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kKeyAdvert);
  WriteAdvertBody(w, *this);
  return w.Take();
}

absl::StatusOr<KeyAdvert> KeyAdvert::Parse(absl::string_view bytes) {
  return ParseWith<KeyAdvert>(bytes, Type::kKeyAdvert, "secagg KeyAdvert",
                              [](WireReader& r, KeyAdvert& a) { return ReadAdvertBody(r, &a); });
}

std::string AdvertList::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kAdvertList);
  WriteSession(w, study_id, round);
  w.U32(static_cast<uint32_t>(adverts.size()));
  for (const KeyAdvert& a : adverts) WriteAdvertBody(w, a);
  return w.Take();
}

absl::StatusOr<AdvertList> AdvertList::Parse(absl::string_view bytes) {
  return ParseWith<AdvertList>(bytes, Type::kAdvertList, "secagg AdvertList",
                               [](WireReader& r, AdvertList& l) {
                                 SCV_RETURN_IF_ERROR(ReadSession(r, &l.study_id, &l.round));
                                 uint32_t count = 0;
                                 SCV_RETURN_IF_ERROR(r.Count("adverts", kMaxSites, &count));
                                 l.adverts.resize(count);
                                 for (KeyAdvert& a : l.adverts)
                                   SCV_RETURN_IF_ERROR(ReadAdvertBody(r, &a));
                                 return absl::OkStatus();
                               });
}

std::string ShareKeysMessage::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kShareKeys);
  WriteSession(w, study_id, round);
  w.Bytes(sender);
  WriteShares(w, shares);
  return w.Take();
}

absl::StatusOr<ShareKeysMessage> ShareKeysMessage::Parse(absl::string_view bytes) {
  return ParseWith<ShareKeysMessage>(
      bytes, Type::kShareKeys, "secagg ShareKeysMessage", [](WireReader& r, ShareKeysMessage& m) {
        SCV_RETURN_IF_ERROR(ReadSession(r, &m.study_id, &m.round));
        SCV_RETURN_IF_ERROR(r.Bytes("sender", kMaxIdBytes, &m.sender));
        return ReadShares(r, &m.shares);
      });
}

std::string ShareBundle::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kShareBundle);
  WriteSession(w, study_id, round);
  w.Bytes(recipient);
  WriteShares(w, shares);
  return w.Take();
}

absl::StatusOr<ShareBundle> ShareBundle::Parse(absl::string_view bytes) {
  return ParseWith<ShareBundle>(
      bytes, Type::kShareBundle, "secagg ShareBundle", [](WireReader& r, ShareBundle& m) {
        SCV_RETURN_IF_ERROR(ReadSession(r, &m.study_id, &m.round));
        SCV_RETURN_IF_ERROR(r.Bytes("recipient", kMaxIdBytes, &m.recipient));
        return ReadShares(r, &m.shares);
      });
}

std::string SharePlaintext::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kSharePlaintext);
  w.Bytes(sender);
  w.Bytes(recipient);
  WriteShamir(w, masking_key_share);
  WriteShamir(w, seed_share);
  return w.Take();
}

absl::StatusOr<SharePlaintext> SharePlaintext::Parse(absl::string_view bytes) {
  return ParseWith<SharePlaintext>(
      bytes, Type::kSharePlaintext, "secagg SharePlaintext", [](WireReader& r, SharePlaintext& m) {
        SCV_RETURN_IF_ERROR(r.Bytes("sender", kMaxIdBytes, &m.sender));
        SCV_RETURN_IF_ERROR(r.Bytes("recipient", kMaxIdBytes, &m.recipient));
        SCV_RETURN_IF_ERROR(ReadShamir(r, &m.masking_key_share));
        return ReadShamir(r, &m.seed_share);
      });
}

std::string MaskedInput::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kMaskedInput);
  WriteSession(w, study_id, round);
  w.Bytes(site_id);
  w.U64Array(masked);
  return w.Take();
}

absl::StatusOr<MaskedInput> MaskedInput::Parse(absl::string_view bytes) {
  return ParseWith<MaskedInput>(bytes, Type::kMaskedInput, "secagg MaskedInput",
                                [](WireReader& r, MaskedInput& m) {
                                  SCV_RETURN_IF_ERROR(ReadSession(r, &m.study_id, &m.round));
                                  SCV_RETURN_IF_ERROR(r.Bytes("site_id", kMaxIdBytes, &m.site_id));
                                  return r.U64Array("masked", kMaxVectorLength, &m.masked);
                                });
}

std::string UnmaskRequest::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kUnmaskRequest);
  WriteSession(w, study_id, round);
  w.Bytes(recipient);
  WriteIds(w, survivors);
  WriteIds(w, dropped);
  return w.Take();
}

absl::StatusOr<UnmaskRequest> UnmaskRequest::Parse(absl::string_view bytes) {
  return ParseWith<UnmaskRequest>(
      bytes, Type::kUnmaskRequest, "secagg UnmaskRequest", [](WireReader& r, UnmaskRequest& m) {
        SCV_RETURN_IF_ERROR(ReadSession(r, &m.study_id, &m.round));
        SCV_RETURN_IF_ERROR(r.Bytes("recipient", kMaxIdBytes, &m.recipient));
        SCV_RETURN_IF_ERROR(ReadIds(r, "survivors", &m.survivors));
        return ReadIds(r, "dropped", &m.dropped);
      });
}

std::string UnmaskResponse::Serialize() const {
  WireWriter w;
  WriteHeader(w, Type::kUnmaskResponse);
  WriteSession(w, study_id, round);
  w.Bytes(site_id);
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const RevealedShare& s : shares) {
    w.Bytes(s.owner);
    w.U8(static_cast<uint8_t>(s.kind));
    WriteShamir(w, s.share);
  }
  return w.Take();
}

absl::StatusOr<UnmaskResponse> UnmaskResponse::Parse(absl::string_view bytes) {
  return ParseWith<UnmaskResponse>(
      bytes, Type::kUnmaskResponse, "secagg UnmaskResponse", [](WireReader& r, UnmaskResponse& m) {
        SCV_RETURN_IF_ERROR(ReadSession(r, &m.study_id, &m.round));
        SCV_RETURN_IF_ERROR(r.Bytes("site_id", kMaxIdBytes, &m.site_id));
        uint32_t count = 0;
        SCV_RETURN_IF_ERROR(r.Count("shares", kMaxSites, &count));
        m.shares.resize(count);
        for (RevealedShare& s : m.shares) {
          uint8_t kind = 0;
          SCV_RETURN_IF_ERROR(r.Bytes("owner", kMaxIdBytes, &s.owner));
          SCV_RETURN_IF_ERROR(r.U8("kind", &kind));
          if (kind != 1 && kind != 2) {
            return absl::InvalidArgumentError(
                absl::StrCat("secagg UnmaskResponse: unknown share kind ", kind));
          }
          s.kind = static_cast<ShareKind>(kind);
          SCV_RETURN_IF_ERROR(ReadShamir(r, &s.share));
        }
        return absl::OkStatus();
      });
}

}  // namespace scancov::privacy::secagg
