#include "sites/pki/revocation.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "sites/pki/ca_signer.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

using internal::Asn1TimePtr;
using internal::X509CrlPtr;
using internal::X509Ptr;

constexpr int kMaxCrlDays = 366;
constexpr RevocationReason kAllReasons[] = {
    RevocationReason::kUnspecified,     RevocationReason::kKeyCompromise,
    RevocationReason::kCaCompromise,    RevocationReason::kAffiliationChanged,
    RevocationReason::kSuperseded,      RevocationReason::kCessationOfOperation,
    RevocationReason::kCertificateHold, RevocationReason::kPrivilegeWithdrawn,
    RevocationReason::kAaCompromise};

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<internal::Asn1IntegerPtr> SerialFromHex(const std::string& hex) {
  bool ok = !hex.empty() && hex.size() <= 40;
  for (char c : hex) ok = ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  BIGNUM* raw = nullptr;
  if (!ok || BN_hex2bn(&raw, hex.c_str()) != static_cast<int>(hex.size())) {
    BN_free(raw);
    return absl::InvalidArgumentError(
        absl::StrCat("CRL: serial '", absl::CHexEscape(hex), "' is not a hex serial number"));
  }
  internal::BignumPtr number(raw);
  internal::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (serial == nullptr) return internal::OpenSslError("CRL: encoding a serial number");
  return serial;
}

absl::Status AddEntry(X509_CRL* crl, const RevokedCertificate& entry) {
  SCV_ASSIGN_OR_RETURN(internal::Asn1IntegerPtr serial, SerialFromHex(entry.serial_hex));
  internal::ClearOpenSslErrors();
  internal::X509RevokedPtr revoked(X509_REVOKED_new());
  Asn1TimePtr date(ASN1_TIME_set(nullptr, absl::ToTimeT(entry.revoked_at)));
  internal::Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
  if (revoked == nullptr || date == nullptr || reason == nullptr ||
      X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), date.get()) != 1 ||
      ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) != 1 ||  // NOLINT
      X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1 ||
      X509_CRL_add0_revoked(crl, revoked.get()) != 1) {
    return internal::OpenSslError(absl::StrCat("CRL: adding serial ", entry.serial_hex));
  }
  revoked.release();  // now owned by `crl`
  return absl::OkStatus();
}

absl::Status SetHeader(X509_CRL* crl, X509* ca, const CrlOptions& options) {
  internal::ClearOpenSslErrors();
  const time_t this_update = absl::ToTimeT(absl::Now()) + options.this_update_offset_s;
  const time_t next_update = this_update + static_cast<time_t>(options.valid_days) * 24 * 3600;
  Asn1TimePtr last(ASN1_TIME_set(nullptr, this_update));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, next_update));
  internal::Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (last == nullptr || next == nullptr || number == nullptr ||
      X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl, last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl, next.get()) != 1 ||
      ASN1_INTEGER_set_uint64(number.get(), options.crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, 0) != 1) {
    return internal::OpenSslError("CRL: setting issuer, dates and number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca, nullptr, nullptr, crl, 0);
  internal::X509ExtensionPtr akid(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (akid == nullptr || X509_CRL_add_ext(crl, akid.get(), -1) != 1) {
    return internal::OpenSslError("CRL: adding authorityKeyIdentifier");
  }
  return absl::OkStatus();
}

absl::StatusOr<RevokedCertificate> ReadEntry(const X509_REVOKED* entry) {
  RevokedCertificate out;
  SCV_ASSIGN_OR_RETURN(out.serial_hex, internal::SerialHex(X509_REVOKED_get0_serialNumber(entry)));
  SCV_ASSIGN_OR_RETURN(out.revoked_at,
                       internal::Asn1TimeToAbsl(X509_REVOKED_get0_revocationDate(entry)));
  int critical = 0;
  internal::Asn1EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr)));
  if (reason != nullptr) {
    const long code = ASN1_ENUMERATED_get(reason.get());  // NOLINT(runtime/int): OpenSSL's type
    for (RevocationReason r : kAllReasons) {
      if (static_cast<long>(r) == code) out.reason = r;  // NOLINT(runtime/int)
    }
  }
  return out;
}

}  // namespace

absl::string_view ReasonName(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kUnspecified:
      return "unspecified";
    case RevocationReason::kKeyCompromise:
      return "keyCompromise";
    case RevocationReason::kCaCompromise:
      return "cACompromise";
    case RevocationReason::kAffiliationChanged:
      return "affiliationChanged";
    case RevocationReason::kSuperseded:
      return "superseded";
    case RevocationReason::kCessationOfOperation:
      return "cessationOfOperation";
    case RevocationReason::kCertificateHold:
      return "certificateHold";
    case RevocationReason::kPrivilegeWithdrawn:
      return "privilegeWithdrawn";
    case RevocationReason::kAaCompromise:
      return "aACompromise";
  }
  return "unspecified";
}

absl::StatusOr<RevocationReason> ParseRevocationReason(absl::string_view name) {
  std::string names;
  for (RevocationReason reason : kAllReasons) {
    if (name == ReasonName(reason)) return reason;
    absl::StrAppend(&names, names.empty() ? "" : ", ", ReasonName(reason));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("reason: unknown '", absl::CHexEscape(name), "' (", names, ")"));
}

absl::StatusOr<RevocationRecord> RevocationRecordFor(absl::string_view certificate_pem,
                                                     absl::string_view ca_certificate_pem,
                                                     RevocationReason reason, absl::Time now) {
  SCV_ASSIGN_OR_RETURN(X509Ptr ca,
                       internal::ParseCertificatePem(ca_certificate_pem, "CA certificate"));
  SCV_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificatePem(certificate_pem, "certificate"));
  RevocationRecord record;
  record.subject = internal::NameToString(X509_get_subject_name(cert.get()));
  const std::string where = absl::StrCat("revoking '", record.subject, "'");
  if (X509_cmp(cert.get(), ca.get()) == 0 || X509_check_ca(cert.get()) != 0) {
    return absl::InvalidArgumentError(
        where + ": a CA certificate cannot be revoked by its own CRL (create a new CA instead)");
  }
  internal::ClearOpenSslErrors();
  if (X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca.get())) != 0 ||
      X509_verify(cert.get(), X509_get0_pubkey(ca.get())) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(where + ": not issued by this CA");
  }
  SCV_ASSIGN_OR_RETURN(record.revoked.serial_hex,
                       internal::SerialHex(X509_get0_serialNumber(cert.get())));
  record.revoked.revoked_at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  record.revoked.reason = reason;
  return record;
}

absl::StatusOr<std::string> CreateCrl(const CertificateAndKey& ca,
                                      const std::vector<RevokedCertificate>& revoked,
                                      const CrlOptions& options) {
  if (options.valid_days < 1 || options.valid_days > kMaxCrlDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("CRL: days must be in 1..", kMaxCrlDays, ", got ", options.valid_days));
  }
  SCV_ASSIGN_OR_RETURN(internal::LoadedCa loaded, internal::LoadCa(ca));
  internal::ClearOpenSslErrors();
  X509CrlPtr crl(X509_CRL_new());
  if (crl == nullptr) return internal::OpenSslError("CRL: allocating");
  SCV_RETURN_IF_ERROR(SetHeader(crl.get(), loaded.cert.get(), options));
  for (const RevokedCertificate& entry : revoked) SCV_RETURN_IF_ERROR(AddEntry(crl.get(), entry));
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), loaded.key.get(), EVP_sha256()) <= 0) {
    return internal::OpenSslError("CRL: signing with the CA key");
  }
  return internal::CrlToPem(crl.get());
}

absl::StatusOr<RevocationList> RevocationList::Parse(absl::string_view crl_pem,
                                                     absl::string_view ca_certificate_pem) {
  SCV_ASSIGN_OR_RETURN(X509Ptr ca,
                       internal::ParseCertificatePem(ca_certificate_pem, "CA certificate"));
  SCV_ASSIGN_OR_RETURN(X509CrlPtr crl, internal::ParseCrlPem(crl_pem, "CRL"));
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) != 0) {
    return absl::UnauthenticatedError(
        absl::StrCat("CRL: issued by '", internal::NameToString(X509_CRL_get_issuer(crl.get())),
                     "', not by this CA"));
  }
  internal::ClearOpenSslErrors();
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) != 1) {
    internal::ClearOpenSslErrors();
    return absl::UnauthenticatedError(
        "CRL: signature does not verify with the CA's key (altered, or signed by another CA)");
  }
  RevocationList list;
  SCV_ASSIGN_OR_RETURN(list.this_update_,
                       internal::Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl.get())));
  if (X509_CRL_get0_nextUpdate(crl.get()) == nullptr) {
    return absl::InvalidArgumentError("CRL: no nextUpdate (when a newer CRL is due)");
  }
  SCV_ASSIGN_OR_RETURN(list.next_update_,
                       internal::Asn1TimeToAbsl(X509_CRL_get0_nextUpdate(crl.get())));
  int critical = 0;
  internal::Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &critical, nullptr)));
  if (number != nullptr && ASN1_INTEGER_get_uint64(&list.crl_number_, number.get()) != 1) {
    return absl::InvalidArgumentError("CRL: unreadable cRLNumber");
  }
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; revoked != nullptr && i < sk_X509_REVOKED_num(revoked); ++i) {
    SCV_ASSIGN_OR_RETURN(RevokedCertificate entry, ReadEntry(sk_X509_REVOKED_value(revoked, i)));
    std::string serial = entry.serial_hex;
    list.entries_.emplace(std::move(serial), std::move(entry));
  }
  return list;
}

const RevokedCertificate* RevocationList::Find(absl::string_view serial_hex) const {
  auto it = entries_.find(std::string(serial_hex));
  return it == entries_.end() ? nullptr : &it->second;
}

absl::Status RevocationList::CheckCertificate(absl::string_view certificate_pem) const {
  SCV_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificatePem(certificate_pem, "certificate"));
  SCV_ASSIGN_OR_RETURN(std::string serial, internal::SerialHex(X509_get0_serialNumber(cert.get())));
  const RevokedCertificate* entry = Find(serial);
  if (entry == nullptr) return absl::OkStatus();
  return absl::UnauthenticatedError(
      absl::StrCat("certificate serial ", serial, " (",
                   internal::NameToString(X509_get_subject_name(cert.get())), ") is revoked (",
                   ReasonName(entry->reason), ", since ", TimeText(entry->revoked_at), "; CRL ",
                   crl_number_, ")"));
}

}  // namespace scancov::sites
