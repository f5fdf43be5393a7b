// Internal: the CA's side of signing, shared by CA-side issuing (certificate_authority.h), the
// signing of a site's request (certificate_request.h) and CRLs (revocation.h). Not part of the
// public API of scancov_pki.
#ifndef SCANCOV_SITES_PKI_CA_SIGNER_H_
#define SCANCOV_SITES_PKI_CA_SIGNER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/openssl_util.h"

namespace scancov::sites::internal {

// The CA certificate and key, parsed and checked to be usable: CA:TRUE, the key matches the
// certificate, valid now, exactly one subject O (the consortium).
struct LoadedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
  std::string consortium;
};

absl::StatusOr<LoadedCa> LoadCa(const CertificateAndKey& ca);

// The host SAN entries of an aggregator certificate: localhost and 127.0.0.1, then `hosts`
// (checked with ParseHost), without repeats.
absl::StatusOr<std::vector<AltName>> ServerAltNames(const std::vector<std::string>& hosts);

// InvalidArgument unless 1 <= days <= 36500.
absl::Status ValidateDays(int days);

// InvalidArgument for an invalid id or validity, or hosts for a role other than aggregator.
absl::Status CheckLeafOptions(const IssueOptions& options);

// The certificate of options.role/options.id for `public_key` (which the CA never needs the
// private half of), profiled as certificate_authority.h says and signed by `ca`. Refuses an
// invalid id or validity, hosts for a role other than aggregator, and a certificate that would
// outlive the CA.
absl::StatusOr<X509Ptr> SignLeafCertificate(const LoadedCa& ca, const IssueOptions& options,
                                            EVP_PKEY* public_key);

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_PKI_CA_SIGNER_H_
