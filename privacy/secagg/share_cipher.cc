#include "privacy/secagg/share_cipher.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"
#include "privacy/secagg/openssl_util.h"
#include "privacy/secagg/wire.h"

namespace scancov::privacy::secagg {
namespace {

using internal::OpenSslError;

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

unsigned char* Bytes(std::string& s, size_t offset = 0) {
  return reinterpret_cast<unsigned char*>(s.data()) + offset;
}
const unsigned char* Bytes(absl::string_view s, size_t offset = 0) {
  return reinterpret_cast<const unsigned char*>(s.data()) + offset;
}

}  // namespace

std::string ShareAad::Bytes() const {
  WireWriter w;
  w.Bytes("scancov-secagg-share-v1");
  w.Bytes(study_id);
  w.U64(round);
  w.Bytes(sender);
  w.Bytes(recipient);
  return w.Take();
}

absl::StatusOr<std::string> SealShare(const Bytes32& key, const ShareAad& aad,
                                      absl::string_view plaintext, SecureRandom& random) {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  absl::Status filled =
      random.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), kNonceBytes));
  if (!filled.ok()) return filled;
  const std::string ad = aad.Bytes();
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), Bytes(out)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(ad), static_cast<int>(ad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), Bytes(out, kNonceBytes), &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), Bytes(out, kNonceBytes + len), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          Bytes(out, kNonceBytes + plaintext.size())) != 1) {
    return OpenSslError("share cipher: AES-256-GCM seal");
  }
  return out;
}

absl::StatusOr<std::string> OpenShare(const Bytes32& key, const ShareAad& aad,
                                      absl::string_view ciphertext) {
  if (ciphertext.size() < kShareCipherOverhead) {
    return absl::InvalidArgumentError(
        absl::StrCat("share cipher: ciphertext of ", ciphertext.size(), " bytes is truncated"));
  }
  const size_t body = ciphertext.size() - kShareCipherOverhead;
  std::string plaintext(body, '\0');
  std::string tag(ciphertext.substr(kNonceBytes + body));
  const std::string ad = aad.Bytes();
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), Bytes(ciphertext)) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(ad), static_cast<int>(ad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), Bytes(plaintext), &len, Bytes(ciphertext, kNonceBytes),
                        static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return OpenSslError("share cipher: AES-256-GCM open");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(plaintext, len), &len) != 1) {
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("share cipher: share from '", aad.sender, "' to '", aad.recipient,
                     "' does not authenticate for study '", aad.study_id, "' round ", aad.round,
                     " (replayed, misrouted or corrupted)"));
  }
  return plaintext;
}

}  // namespace scancov::privacy::secagg
