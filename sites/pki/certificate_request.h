// Keys made where they are used: a participant creates its own key and a PKCS#10 certificate
// signing request (CSR); the CA checks the request and signs a certificate for the public key
// in it, never seeing a private key. In-memory PEM only; the files are in pki_directory.h.
//
// The request carries:
//   Subject     OU=<role>, CN=<id>            (the CA adds O=<consortium> itself)
//   SAN         URI urn:scancov:<role>:<id>; for an aggregator also DNS/IP entries for
//               localhost, 127.0.0.1 and every RequestOptions::hosts entry
//   Key         a fresh EC P-256 key; the request is signed with it (proof of possession)
//
// The CA decides the role and the id (SignOptions), and the request must agree with them: a
// site cannot obtain a coordinator certificate by writing OU=coordinator into its request. The
// certificate is built from SignOptions and the CA's own data, never copied from the request;
// of the request only the public key and, for an aggregator, the host names are used.
//
// Thread safety: all functions are thread-safe (they share no state).
#ifndef SCANCOV_SITES_PKI_CERTIFICATE_REQUEST_H_
#define SCANCOV_SITES_PKI_CERTIFICATE_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/identity.h"

namespace scancov::sites {

struct RequestOptions {
  Role role = Role::kSite;
  std::string id;  // validated with ValidateId
  // Extra host names / IP addresses, aggregator only (as IssueOptions::hosts).
  std::vector<std::string> hosts;
};

// A request and the private key it was made with, both PEM. The key never leaves the
// participant: only request_pem goes to the CA.
struct RequestAndKey {
  std::string request_pem;      // "BEGIN CERTIFICATE REQUEST"
  std::string private_key_pem;  // unencrypted PKCS#8, as gRPC reads it
};

// Generates an EC P-256 key and a request for options.role/options.id signed with it.
// InvalidArgument for an invalid id or host, or hosts for a role other than aggregator.
absl::StatusOr<RequestAndKey> CreateCertificateRequest(const RequestOptions& options);

struct SignOptions {
  Role role = Role::kSite;
  std::string id;
  int valid_days = 365;
  // Shifts notBefore (and so notAfter) from the current time (tests).
  int64_t not_before_offset_s = 0;
};

// What the CA signed: the certificate and a description of the key it certifies.
struct SignedRequest {
  std::string certificate_pem;
  std::string key_description;  // e.g. "EC P-256"
};

// Checks `request_pem` and signs a certificate for options.role/options.id over its public key
// (profiled as certificate_authority.h says). Refuses, before signing anything:
//   InvalidArgument   a malformed request, one whose signature does not verify with its own
//                     key (altered, or not made by the key's holder), a key other than EC
//                     P-256/P-384 or RSA of at least 3072 bits, an invalid id or validity, a
//                     SAN entry that is neither the identity URI nor (aggregator) a host
//   PermissionDenied  a subject that disagrees with options: CN other than options.id, OU other
//                     than the role's name, O other than the consortium, any other attribute;
//                     a SAN URI naming another identity; host names in a non-aggregator request
//   FailedPrecondition  an unusable CA (as IssueCertificate)
// Other requested extensions (e.g. basicConstraints CA:TRUE) are ignored: the CA sets them.
absl::StatusOr<SignedRequest> SignCertificateRequest(const CertificateAndKey& ca,
                                                     absl::string_view request_pem,
                                                     const SignOptions& options);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_CERTIFICATE_REQUEST_H_
