#include "sites/pki/ca_signer.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites::internal {
namespace {

constexpr int kMaxValidDays = 36500;

absl::Status AddLeafExtensions(X509* cert, X509* ca, const IssueOptions& options) {
  const PeerIdentity identity{options.role, options.id};
  std::vector<AltName> alt_names = {{AltName::Kind::kUri, IdentityUri(identity)}};
  const bool server = options.role == Role::kAggregator;
  if (server) {
    SCV_ASSIGN_OR_RETURN(std::vector<AltName> hosts, ServerAltNames(options.hosts));
    alt_names.insert(alt_names.end(), hosts.begin(), hosts.end());
  }
  SCV_RETURN_IF_ERROR(AddExtension(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
  SCV_RETURN_IF_ERROR(AddExtension(cert, ca, NID_key_usage, "critical,digitalSignature"));
  SCV_RETURN_IF_ERROR(
      AddExtension(cert, ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth"));
  SCV_RETURN_IF_ERROR(AddExtension(cert, ca, NID_subject_key_identifier, "hash"));
  SCV_RETURN_IF_ERROR(AddExtension(cert, ca, NID_authority_key_identifier, "keyid:always"));
  return AddSubjectAltNames(cert, alt_names);
}

}  // namespace

absl::StatusOr<std::vector<AltName>> ServerAltNames(const std::vector<std::string>& hosts) {
  std::vector<AltName> names;
  std::vector<std::string> all = {"localhost", "127.0.0.1"};
  all.insert(all.end(), hosts.begin(), hosts.end());
  for (const std::string& host : all) {
    SCV_ASSIGN_OR_RETURN(AltName name, ParseHost(host));
    bool seen = false;
    for (const AltName& n : names) seen = seen || (n.kind == name.kind && n.value == name.value);
    if (!seen) names.push_back(std::move(name));
  }
  return names;
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

absl::Status ValidateDays(int days) {
  if (days < 1 || days > kMaxValidDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: days must be in 1..", kMaxValidDays, ", got ", days));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedCa> LoadCa(const CertificateAndKey& ca) {
  LoadedCa loaded;
  SCV_ASSIGN_OR_RETURN(loaded.cert, ParseCertificatePem(ca.certificate_pem, "CA certificate"));
  SCV_ASSIGN_OR_RETURN(loaded.key, ParsePrivateKeyPem(ca.private_key_pem, "CA key"));
  ClearOpenSslErrors();
  if (X509_check_ca(loaded.cert.get()) != 1) {
    return absl::FailedPreconditionError("CA certificate: not a CA (basicConstraints CA:FALSE)");
  }
  if (X509_check_private_key(loaded.cert.get(), loaded.key.get()) != 1) {
    return OpenSslError("CA key: does not match the CA certificate",
                        absl::StatusCode::kFailedPrecondition);
  }
  time_t now = std::time(nullptr);
  if (X509_cmp_time(X509_get0_notAfter(loaded.cert.get()), &now) <= 0) {
    return absl::FailedPreconditionError("CA certificate: expired; create a new CA");
  }
  if (X509_cmp_time(X509_get0_notBefore(loaded.cert.get()), &now) > 0) {
    return absl::FailedPreconditionError("CA certificate: not yet valid");
  }
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> consortium,
                       NameEntries(X509_get_subject_name(loaded.cert.get()), NID_organizationName));
  if (consortium.size() != 1) {
    return absl::FailedPreconditionError("CA certificate: subject must have exactly one O");
  }
  loaded.consortium = std::move(consortium.front());
  return loaded;
}

absl::StatusOr<X509Ptr> SignLeafCertificate(const LoadedCa& ca, const IssueOptions& options,
                                            EVP_PKEY* public_key) {
  SCV_RETURN_IF_ERROR(CheckLeafOptions(options));
  SCV_ASSIGN_OR_RETURN(X509NamePtr subject,
                       BuildName({{NID_organizationName, ca.consortium},
                                  {NID_organizationalUnitName, std::string(RoleName(options.role))},
                                  {NID_commonName, options.id}}));
  SCV_ASSIGN_OR_RETURN(X509Ptr cert,
                       NewCertificate(subject.get(), X509_get_subject_name(ca.cert.get()),
                                      options.not_before_offset_s, options.valid_days, public_key));
  if (ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca.cert.get())) > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity: ", options.valid_days,
                     " days would outlive the CA certificate; issue for fewer days"));
  }
  SCV_RETURN_IF_ERROR(AddLeafExtensions(cert.get(), ca.cert.get(), options));
  SCV_RETURN_IF_ERROR(SignCertificate(cert.get(), ca.key.get()));
  return cert;
}

}  // namespace scancov::sites::internal
