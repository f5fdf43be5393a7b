// Who a consortium certificate speaks for.
//
// The aggregator derives a caller's identity only from the peer certificate that its TLS layer
// has already verified against the consortium CA:
//
//   Subject CN = the id (a site id such as "kb", a coordinator name, an aggregator name)
//   Subject OU = the role: "site", "coordinator" or "aggregator"
//   Subject O  = the consortium name
//   SAN URI    = "urn:scancov:<role>:<id>" (the same identity, spelled out)
//
// Ids match [a-z0-9][a-z0-9_-]{0,62}, so they are safe as file names, log keys and URN parts.
//
// Thread safety: all functions are thread-safe.
#ifndef SCANCOV_SITES_PKI_IDENTITY_H_
#define SCANCOV_SITES_PKI_IDENTITY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::sites {

enum class Role { kSite, kCoordinator, kAggregator };

// "site", "coordinator", "aggregator".
absl::string_view RoleName(Role role);
// Inverse of RoleName (exact, lower-case); InvalidArgument names the accepted values.
absl::StatusOr<Role> ParseRole(absl::string_view name);

struct PeerIdentity {
  Role role;
  std::string id;

  friend bool operator==(const PeerIdentity& a, const PeerIdentity& b) {
    return a.role == b.role && a.id == b.id;
  }
  friend bool operator!=(const PeerIdentity& a, const PeerIdentity& b) { return !(a == b); }
};

// "site:kb", for logs and error messages.
std::string ToString(const PeerIdentity& identity);

// OK when `id` matches [a-z0-9][a-z0-9_-]{0,62}; InvalidArgument saying why otherwise.
absl::Status ValidateId(absl::string_view id);

// "urn:scancov:<role>:<id>".
std::string IdentityUri(const PeerIdentity& identity);

// Reads the identity from the first certificate in `pem` (the leaf). It does NOT verify the
// certificate: call it on a certificate the TLS layer (or VerifyCertificate) already verified.
// Requires exactly one CN that is a valid id and exactly one OU that is a role name; every SAN
// URI starting with "urn:scancov:" must equal IdentityUri of that identity. Errors are
// InvalidArgument (malformed PEM) or Unauthenticated (the certificate names no usable identity).
absl::StatusOr<PeerIdentity> IdentityFromCertificatePem(absl::string_view pem);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_IDENTITY_H_
