// Verifying a peer certificate against the consortium CA, as the aggregator's TLS layer does,
// but with a precise reason on failure (for `scancov-pki verify`, tests and diagnostics).
//
// Thread safety: thread-safe (no shared state).
#ifndef SCANCOV_SITES_PKI_VERIFY_H_
#define SCANCOV_SITES_PKI_VERIFY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sites/pki/identity.h"

namespace scancov::sites {

// Verifies that the first certificate in `cert_pem` is a peer certificate issued by the CA
// in `ca_cert_pem`, both valid at `now`, and returns the identity it carries. Besides the
// chain signature and validity periods it checks that the certificate is not itself a CA,
// carries a consortium identity (IdentityFromCertificatePem) and has the extendedKeyUsage of
// its role (serverAuth for aggregators, clientAuth otherwise).
//
// Errors: InvalidArgument for malformed PEM; Unauthenticated "certificate <subject>: <why>"
// otherwise, where <why> begins with "expired", "not yet valid", "not issued by this CA",
// "CA certificate expired", "is a CA certificate", "wrong key usage" or OpenSSL's own reason.
absl::StatusOr<PeerIdentity> VerifyCertificate(absl::string_view cert_pem,
                                               absl::string_view ca_cert_pem, absl::Time now);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_VERIFY_H_
