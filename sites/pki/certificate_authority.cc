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
#include "sites/pki/ca_signer.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

using internal::EvpPkeyPtr;
using internal::X509NamePtr;
using internal::X509Ptr;

constexpr size_t kMaxConsortiumBytes = 60;  // CN "<consortium> CA" must fit in 64

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

absl::StatusOr<CertificateAndKey> Encode(X509* cert, EVP_PKEY* key) {
  CertificateAndKey out;
  SCV_ASSIGN_OR_RETURN(out.certificate_pem, internal::CertificateToPem(cert));
  SCV_ASSIGN_OR_RETURN(out.private_key_pem, internal::PrivateKeyToPem(key));
  return out;
}

}  // namespace

absl::StatusOr<CertificateAndKey> CreateCertificateAuthority(const CaOptions& options) {
  SCV_RETURN_IF_ERROR(ValidateConsortium(options.consortium));
  SCV_RETURN_IF_ERROR(internal::ValidateDays(options.valid_days));
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
  SCV_RETURN_IF_ERROR(internal::CheckLeafOptions(options));
  SCV_ASSIGN_OR_RETURN(internal::LoadedCa loaded, internal::LoadCa(ca));
  SCV_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::GenerateEcP256Key());
  SCV_ASSIGN_OR_RETURN(X509Ptr cert, internal::SignLeafCertificate(loaded, options, key.get()));
  return Encode(cert.get(), key.get());
}

absl::StatusOr<CertificateInfo> DescribeCertificate(absl::string_view pem) {
  SCV_ASSIGN_OR_RETURN(X509Ptr cert, internal::ParseCertificatePem(pem, "certificate"));
  CertificateInfo info;
  info.subject = internal::NameToString(X509_get_subject_name(cert.get()));
  info.issuer = internal::NameToString(X509_get_issuer_name(cert.get()));
  SCV_ASSIGN_OR_RETURN(info.not_before, internal::Asn1TimeToAbsl(X509_get0_notBefore(cert.get())));
  SCV_ASSIGN_OR_RETURN(info.not_after, internal::Asn1TimeToAbsl(X509_get0_notAfter(cert.get())));
  SCV_ASSIGN_OR_RETURN(info.serial_hex, internal::SerialHex(X509_get0_serialNumber(cert.get())));
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
