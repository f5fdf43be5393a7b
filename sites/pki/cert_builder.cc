#include "sites/pki/cert_builder.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace scancov::sites::internal {
namespace {

constexpr int kSerialBytes = 16;
constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;

bool IsValidDnsLabel(absl::string_view label) {
  if (label.empty() || label.size() > kMaxDnsLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<GeneralNamePtr> ToGeneralName(const AltName& name) {
  GeneralNamePtr general(GENERAL_NAME_new());
  if (general == nullptr) return OpenSslError("subjectAltName: allocating an entry");
  if (name.kind == AltName::Kind::kIp) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.value.c_str());
    if (ip == nullptr) {
      return OpenSslError(absl::StrCat("subjectAltName: bad IP address '", name.value, "'"),
                          absl::StatusCode::kInvalidArgument);
    }
    GENERAL_NAME_set0_value(general.get(), GEN_IPADD, ip);
    return general;
  }
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  if (text == nullptr ||
      ASN1_STRING_set(text, name.value.data(), static_cast<int>(name.value.size())) != 1) {
    ASN1_IA5STRING_free(text);
    return OpenSslError("subjectAltName: encoding an entry");
  }
  GENERAL_NAME_set0_value(general.get(), name.kind == AltName::Kind::kDns ? GEN_DNS : GEN_URI,
                          text);
  return general;
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key() {
  ClearOpenSslErrors();
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("generating an EC P-256 key");
  return key;
}

absl::StatusOr<X509NamePtr> BuildName(const std::vector<std::pair<int, std::string>>& entries) {
  ClearOpenSslErrors();
  X509NamePtr name(X509_NAME_new());
  if (name == nullptr) return OpenSslError("certificate name: allocating");
  for (const auto& [nid, value] : entries) {
    if (X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return OpenSslError(absl::StrCat("certificate name: adding ", OBJ_nid2sn(nid), "='",
                                       absl::CHexEscape(value), "'"),
                          absl::StatusCode::kInvalidArgument);
    }
  }
  return name;
}

absl::StatusOr<AltName> ParseHost(absl::string_view host) {
  const std::string text(host);
  std::array<unsigned char, 16> buf;
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1 ||
      inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) {
    return AltName{AltName::Kind::kIp, text};
  }
  const std::string lower = absl::AsciiStrToLower(host);
  bool ok = !lower.empty() && lower.size() <= kMaxDnsName;
  for (absl::string_view label : absl::StrSplit(lower, '.')) {
    ok = ok && IsValidDnsLabel(label);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("host '", absl::CHexEscape(host),
                     "': not an IP address or a DNS name (letters, digits, '-', dots; no "
                     "wildcards)"));
  }
  return AltName{AltName::Kind::kDns, lower};
}

absl::StatusOr<X509Ptr> NewCertificate(const X509_NAME* subject, const X509_NAME* issuer,
                                       int64_t not_before_offset_s, int valid_days,
                                       EVP_PKEY* public_key) {
  ClearOpenSslErrors();
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("certificate: allocating");

  std::array<unsigned char, kSerialBytes> serial_bytes;
  BignumPtr serial(BN_new());
  do {
    if (RAND_bytes(serial_bytes.data(), kSerialBytes) != 1) {
      return OpenSslError("certificate: drawing a random serial number");
    }
    if (serial == nullptr ||
        BN_bin2bn(serial_bytes.data(), kSerialBytes, serial.get()) == nullptr) {
      return OpenSslError("certificate: converting the serial number");
    }
  } while (BN_is_zero(serial.get()));
  ASN1_INTEGER* serial_field = X509_get_serialNumber(cert.get());

  const time_t not_before = std::time(nullptr) + static_cast<time_t>(not_before_offset_s);
  const time_t not_after = not_before + static_cast<time_t>(valid_days) * 24 * 60 * 60;
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), serial_field) == nullptr ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr ||
      X509_set_pubkey(cert.get(), public_key) != 1) {
    return OpenSslError("certificate: setting serial, names, validity and key");
  }
  return cert;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  ClearOpenSslErrors();
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("certificate: adding ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<GeneralNamesPtr> BuildGeneralNames(const std::vector<AltName>& names) {
  ClearOpenSslErrors();
  GeneralNamesPtr list(sk_GENERAL_NAME_new_null());
  if (list == nullptr) return OpenSslError("subjectAltName: allocating");
  for (const AltName& name : names) {
    absl::StatusOr<GeneralNamePtr> general = ToGeneralName(name);
    if (!general.ok()) return general.status();
    if (sk_GENERAL_NAME_push(list.get(), general->get()) == 0) {
      return OpenSslError("subjectAltName: appending an entry");
    }
    general->release();  // now owned by `list`
  }
  return list;
}

absl::Status AddSubjectAltNames(X509* cert, const std::vector<AltName>& names) {
  absl::StatusOr<GeneralNamesPtr> list = BuildGeneralNames(names);
  if (!list.ok()) return list.status();
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, list->get(), /*crit=*/0, X509V3_ADD_DEFAULT) !=
      1) {
    return OpenSslError("certificate: adding subjectAltName");
  }
  return absl::OkStatus();
}

absl::Status SignCertificate(X509* cert, EVP_PKEY* issuer_key) {
  ClearOpenSslErrors();
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
    return OpenSslError("certificate: signing with the issuer key");
  }
  return absl::OkStatus();
}

}  // namespace scancov::sites::internal
