#include "sites/pki/identity.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

constexpr absl::string_view kUriPrefix = "urn:scancov:";
constexpr size_t kMaxIdLength = 63;

bool IsIdStartChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsIdChar(char c) { return IsIdStartChar(c) || c == '_' || c == '-'; }

// Exactly one entry, or an Unauthenticated error naming the field.
absl::StatusOr<std::string> SingleEntry(const X509_NAME* name, int nid, absl::string_view field) {
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> values, internal::NameEntries(name, nid));
  if (values.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("certificate identity: subject has no ", field));
  }
  if (values.size() > 1) {
    return absl::UnauthenticatedError(absl::StrCat("certificate identity: subject has ",
                                                   values.size(), " ", field,
                                                   " entries (ambiguous identity)"));
  }
  return values.front();
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSite:
      return "site";
    case Role::kCoordinator:
      return "coordinator";
    case Role::kAggregator:
      return "aggregator";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kSite, Role::kCoordinator, Role::kAggregator}) {
    if (name == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("role: unknown role '", name, "' (site, coordinator, aggregator)"));
}

std::string ToString(const PeerIdentity& identity) {
  return absl::StrCat(RoleName(identity.role), ":", identity.id);
}

absl::Status ValidateId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("id: empty");
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("id: longer than ", kMaxIdLength, " characters (", id.size(), ")"));
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("id '", absl::CHexEscape(id), "': only a-z, 0-9, '_' and '-' are allowed"));
    }
  }
  if (!IsIdStartChar(id[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("id '", id, "': must start with a letter or digit"));
  }
  return absl::OkStatus();
}

std::string IdentityUri(const PeerIdentity& identity) {
  return absl::StrCat(kUriPrefix, RoleName(identity.role), ":", identity.id);
}

absl::StatusOr<PeerIdentity> IdentityFromCertificatePem(absl::string_view pem) {
  SCV_ASSIGN_OR_RETURN(internal::X509Ptr cert,
                       internal::ParseCertificatePem(pem, "certificate identity"));
  return internal::IdentityFromCertificate(cert.get());
}

namespace internal {

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return "<unprintable name>";
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  return std::string(data, static_cast<size_t>(length));
}

absl::StatusOr<std::vector<std::string>> NameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) return OpenSslError("certificate subject: decoding a name entry");
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  return values;
}

std::vector<std::string> AltNameValues(const GENERAL_NAMES* names, int type) {
  std::vector<std::string> out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != type) continue;
    if (type == GEN_URI || type == GEN_DNS) {
      const ASN1_IA5STRING* s =
          type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (ASN1_STRING_length(ip) == 4 || ASN1_STRING_length(ip) == 16) {
        inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text));
        out.emplace_back(text);
      }
    }
  }
  return out;
}

std::vector<std::string> SubjectAltNames(X509* cert, int type) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  return AltNameValues(names.get(), type);
}

absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial) {
  BignumPtr number(serial == nullptr ? nullptr : ASN1_INTEGER_to_BN(serial, nullptr));
  char* hex = number == nullptr ? nullptr : BN_bn2hex(number.get());
  if (hex == nullptr) return OpenSslError("certificate: reading the serial number");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* time) {
  std::tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return OpenSslError("certificate validity: malformed time", absl::StatusCode::kInvalidArgument);
  }
  return absl::FromTM(tm, absl::UTCTimeZone());
}

absl::StatusOr<PeerIdentity> IdentityFromCertificate(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  SCV_ASSIGN_OR_RETURN(std::string id, SingleEntry(subject, NID_commonName, "CN"));
  SCV_ASSIGN_OR_RETURN(std::string role_name,
                       SingleEntry(subject, NID_organizationalUnitName, "OU (role)"));
  absl::Status id_ok = ValidateId(id);
  if (!id_ok.ok())
    return absl::UnauthenticatedError("certificate identity: CN: " + std::string(id_ok.message()));
  absl::StatusOr<Role> role = ParseRole(role_name);
  if (!role.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("certificate identity: OU '", absl::CHexEscape(role_name),
                     "' is not a role (site, coordinator, aggregator)"));
  }
  PeerIdentity identity{*role, std::move(id)};
  const std::string expected_uri = IdentityUri(identity);
  for (const std::string& uri : SubjectAltNames(cert, GEN_URI)) {
    if (absl::StartsWith(uri, kUriPrefix) && uri != expected_uri) {
      return absl::UnauthenticatedError(
          absl::StrCat("certificate identity: SAN URI '", absl::CHexEscape(uri),
                       "' contradicts subject (expected '", expected_uri, "')"));
    }
  }
  return identity;
}

}  // namespace internal
}  // namespace scancov::sites
