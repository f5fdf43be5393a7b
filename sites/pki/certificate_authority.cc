#include "sites/pki/certificate_authority.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

using internal::AltName;
using internal::EvpPkeyPtr;
using internal::X509NamePtr;
using internal::X509Ptr;

constexpr size_t kMaxConsortiumBytes = 60;  // CN "<consortium> CA" must fit in 64
constexpr int kMaxValidDays = 36500;

absl::Status ValidateConsortium(absl::string_view name) {
  if (name.empty() || name.size() > kMaxConsortiumBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("consortium name: must be 1..", kMaxConsortiumBytes, " bytes"));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("consortium name: control characters are not allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDays(int days) {
  if (days < 1 || days > kMaxValidDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: days must be in 1..", kMaxValidDays, ", got ", days));
  }
  return absl::OkStatus();
}

absl::StatusOr<CertificateAndKey> Encode(X509* cert, EVP_PKEY* key) {
  CertificateAndKey out;
  SCV_ASSIGN_OR_RETURN(out.certificate_pem, internal::CertificateToPem(cert));
  SCV_ASSIGN_OR_RETURN(out.private_key_pem, internal::PrivateKeyToPem(key));
  return out;
}

// The parsed CA certificate and key, checked to belong together and to be a usable CA.
struct LoadedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};

absl::StatusOr<LoadedCa> LoadCa(const CertificateAndKey& ca) {
  LoadedCa loaded;
  SCV_ASSIGN_OR_RETURN(loaded.cert,
                       internal::ParseCertificatePem(ca.certificate_pem, "CA certificate"));
  SCV_ASSIGN_OR_RETURN(loaded.key, internal::ParsePrivateKeyPem(ca.private_key_pem, "CA key"));
  internal::ClearOpenSslErrors();
  if (X509_check_ca(loaded.cert.get()) != 1) {
    return absl::FailedPreconditionError("CA certificate: not a CA (basicConstraints CA:FALSE)");
  }
  if (X509_check_private_key(loaded.cert.get(), loaded.key.get()) != 1) {
    return internal::OpenSslError("CA key: does not match the CA certificate",
                                  absl::StatusCode::kFailedPrecondition);
  }
  time_t now = std::time(nullptr);
  if (X509_cmp_time(X509_get0_notAfter(loaded.cert.get()), &now) <= 0) {
    return absl::FailedPreconditionError("CA certificate: expired; create a new CA");
  }
  if (X509_cmp_time(X509_get0_notBefore(loaded.cert.get()), &now) > 0) {
    return absl::FailedPreconditionError("CA certificate: not yet valid");
  }
  return loaded;
}

// Host SAN entries of an aggregator certificate: the defaults, then `hosts`, without repeats.
absl::StatusOr<std::vector<AltName>> ServerAltNames(const std::vector<std::string>& hosts) {
  std::vector<AltName> names;
  std::vector<std::string> all = {"localhost", "127.0.0.1"};
  all.insert(all.end(), hosts.begin(), hosts.end());
  for (const std::string& host : all) {
    SCV_ASSIGN_OR_RETURN(AltName name, internal::ParseHost(host));
    bool seen = false;
    for (const AltName& n : names) seen = seen || (n.kind == name.kind && n.value == name.value);
    if (!seen) names.push_back(std::move(name));
  }
  return names;
}

absl::Status AddLeafExtensions(X509* cert, X509* ca, const IssueOptions& options) {
  const PeerIdentity identity{options.role, options.id};
  std::vector<AltName> alt_names = {{AltName::Kind::kUri, IdentityUri(identity)}};
  const bool server = options.role == Role::kAggregator;
  if (server) {
    SCV_ASSIGN_OR_RETURN(std::vector<AltName> hosts, ServerAltNames(options.hosts));
    alt_names.insert(alt_names.end(), hosts.begin(), hosts.end());
  }
  SCV_RETURN_IF_ERROR(internal::AddExtension(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
  SCV_RETURN_IF_ERROR(internal::AddExtension(cert, ca, NID_key_usage, "critical,digitalSignature"));
  SCV_RETURN_IF_ERROR(
      internal::AddExtension(cert, ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth"));
  SCV_RETURN_IF_ERROR(internal::AddExtension(cert, ca, NID_subject_key_identifier, "hash"));
  SCV_RETURN_IF_ERROR(
      internal::AddExtension(cert, ca, NID_authority_key_identifier, "keyid:always"));
  return internal::AddSubjectAltNames(cert, alt_names);
}

absl::Status CheckLeafOptions(const IssueOptions& options) {
  SCV_RETURN_IF_ERROR(ValidateId(options.id));
  SCV_RETURN_IF_ERROR(ValidateDays(options.valid_days));
  if (options.role != Role::kAggregator && !options.hosts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hosts: only aggregator certificates carry host names, not ", RoleName(options.role)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CertificateAndKey> CreateCertificateAuthority(const CaOptions& options) {
  SCV_RETURN_IF_ERROR(ValidateConsortium(options.consortium));
  SCV_RETURN_IF_ERROR(ValidateDays(options.valid_days));
  SCV_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::GenerateEcP256Key());
  SCV_ASSIGN_OR_RETURN(X509NamePtr name,
                       internal::BuildName({{NID_organizationName, options.consortium},
                                            {NID_commonName, options.consortium + " CA"}}));
  SCV_ASSIGN_OR_RETURN(X509Ptr cert,
                       internal::NewCertificate(name.get(), name.get(), options.not_before_offset_s,
                                                options.valid_days, key.get()));
  X509* self = cert.get();
  SCV_RETURN_IF_ERROR(
      internal::AddExtension(self, self, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  SCV_RETURN_IF_ERROR(
      internal::AddExtension(self, self, NID_key_usage, "critical,keyCertSign,cRLSign"));
  SCV_RETURN_IF_ERROR(internal::AddExtension(self, self, NID_subject_key_identifier, "hash"));
  SCV_RETURN_IF_ERROR(
      internal::AddExtension(self, self, NID_authority_key_identifier, "keyid:always"));
  SCV_RETURN_IF_ERROR(internal::SignCertificate(self, key.get()));
  return Encode(self, key.get());
}

absl::StatusOr<CertificateAndKey> IssueCertificate(const CertificateAndKey& ca,
                                                   const IssueOptions& options) {
  SCV_RETURN_IF_ERROR(CheckLeafOptions(options));
  SCV_ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  SCV_ASSIGN_OR_RETURN(
      std::vector<std::string> consortium,
      internal::NameEntries(X509_get_subject_name(loaded.cert.get()), NID_organizationName));
  if (consortium.size() != 1) {
    return absl::FailedPreconditionError("CA certificate: subject must have exactly one O");
  }
  SCV_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::GenerateEcP256Key());
  SCV_ASSIGN_OR_RETURN(
      X509NamePtr subject,
      internal::BuildName({{NID_organizationName, consortium.front()},
                           {NID_organizationalUnitName, std::string(RoleName(options.role))},
                           {NID_commonName, options.id}}));
  SCV_ASSIGN_OR_RETURN(
      X509Ptr cert,
      internal::NewCertificate(subject.get(), X509_get_subject_name(loaded.cert.get()),
                               options.not_before_offset_s, options.valid_days, key.get()));
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(loaded.cert.get())) >
      0) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: ", options.valid_days,
                     " days would outlive the CA certificate; issue for fewer days"));
  }
  SCV_RETURN_IF_ERROR(AddLeafExtensions(cert.get(), loaded.cert.get(), options));
  SCV_RETURN_IF_ERROR(internal::SignCertificate(cert.get(), loaded.key.get()));
  return Encode(cert.get(), key.get());
}

absl::StatusOr<CertificateInfo> DescribeCertificate(absl::string_view pem) {
  SCV_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificatePem(pem, "certificate"));
  CertificateInfo info;
  info.subject = internal::NameToString(X509_get_subject_name(cert.get()));
  info.issuer = internal::NameToString(X509_get_issuer_name(cert.get()));
  SCV_ASSIGN_OR_RETURN(info.not_before, internal::Asn1TimeToAbsl(X509_get0_notBefore(cert.get())));
  SCV_ASSIGN_OR_RETURN(info.not_after, internal::Asn1TimeToAbsl(X509_get0_notAfter(cert.get())));
  internal::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  char* hex = serial == nullptr ? nullptr : BN_bn2hex(serial.get());
  if (hex == nullptr) return internal::OpenSslError("certificate: reading the serial number");
  info.serial_hex = hex;
  OPENSSL_free(hex);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &digest_length) != 1) {
    return internal::OpenSslError("certificate: computing the SHA-256 fingerprint");
  }
  info.sha256_fingerprint =
      ToHex(absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  info.is_ca = X509_check_ca(cert.get()) != 0;
  info.identity = info.is_ca ? absl::StatusOr<PeerIdentity>(absl::FailedPreconditionError(
                                   "a CA certificate carries no peer identity"))
                             : internal::IdentityFromCertificate(cert.get());
  info.hosts = internal::SubjectAltNames(cert.get(), GEN_DNS);
  for (std::string& ip : internal::SubjectAltNames(cert.get(), GEN_IPADD)) {
    info.hosts.push_back(std::move(ip));
  }
  return info;
}

}  // namespace scancov::sites
