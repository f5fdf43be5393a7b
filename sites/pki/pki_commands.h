// What scancov-pki's subcommands do (init, issue, request, sign, revoke, crl, show, verify; see
// pki_directory.h for the layout), each printing to `out` what the tool prints. Errors name the
// file or the invariant. Thread-compatible: two commands on the same directory at once may race on
// its files.
#ifndef SCANCOV_SITES_PKI_PKI_COMMANDS_H_
#define SCANCOV_SITES_PKI_PKI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace scancov::sites {

struct PkiInitOptions {
  std::string dir;
  std::string consortium;  // subject O
  int days = 3650;
  bool force = false;  // replace an existing CA (invalidates every certificate it issued)
};
// Creates the consortium CA (ca.crt, ca.key) and prints where it is, its validity and
// fingerprint.
absl::Status PkiInit(const PkiInitOptions& options, std::ostream& out);

struct PkiIssueOptions {
  std::string dir;
  std::string role;  // site, coordinator or aggregator
  std::string id;
  int days = 365;
  std::vector<std::string> hosts;  // extra DNS names or IPs of an aggregator
  bool force = false;
};
// Issues a key and certificate signed by the CA of `dir` and prints where they are. CA-side key
// generation, for tests and demos only: in production the key is made at the participant
// (PkiRequest) and the CA signs the request (PkiSign).
absl::Status PkiIssue(const PkiIssueOptions& options, std::ostream& out);

struct PkiRequestOptions {
  std::string role;
  std::string id;
  std::string key;  // private key to create (0600; it stays at the participant)
  std::string csr;  // certificate signing request to create (PEM; sent to the CA)
  std::vector<std::string> hosts;
  bool force = false;
};
// At the participant: makes the private key and the certificate signing request.
absl::Status PkiRequest(const PkiRequestOptions& options, std::ostream& out);

struct PkiSignOptions {
  std::string dir;
  std::string csr;
  std::string role;  // the role and id the CA certifies (a request that disagrees is refused)
  std::string id;
  int days = 365;
  bool force = false;
};
// At the CA: checks the request against the role and id given here, and signs it.
absl::Status PkiSign(const PkiSignOptions& options, std::ostream& out);

struct PkiRevokeOptions {
  std::string dir;
  std::string cert;
  std::string reason = "unspecified";
};
// Records a certificate's revocation (effective once a CRL is written and distributed).
absl::Status PkiRevoke(const PkiRevokeOptions& options, absl::Time now, std::ostream& out);

// Writes the signed revocation list <dir>/crl.pem, valid `days` until its next update.
absl::Status PkiCrl(const std::string& dir, int days, std::ostream& out);

// Prints a certificate's subject, issuer, identity, hosts, validity (at `now`) and fingerprint.
absl::Status PkiShow(const std::string& file, absl::Time now, std::ostream& out);

// Verifies `file` against the CA of `dir` at `now`, and its crl.pem when there is one:
// "<file>: OK <role>:<id>".
absl::Status PkiVerify(const std::string& dir, const std::string& file, absl::Time now,
                       std::ostream& out);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_PKI_COMMANDS_H_
