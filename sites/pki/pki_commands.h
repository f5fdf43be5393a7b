// What scancov-pki's subcommands do (init, issue, show, verify; see pki_directory.h for the
// layout), each printing to `out` what the tool prints. Errors name the file or the invariant.
// Thread-compatible: two commands on the same directory at once may race on its files.
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
// Issues a key and certificate signed by the CA of `dir` and prints where they are.
absl::Status PkiIssue(const PkiIssueOptions& options, std::ostream& out);

// Prints a certificate's subject, issuer, identity, hosts, validity (at `now`) and fingerprint.
absl::Status PkiShow(const std::string& file, absl::Time now, std::ostream& out);

// Verifies `file` against the CA of `dir` at `now`: "<file>: OK <role>:<id>".
absl::Status PkiVerify(const std::string& dir, const std::string& file, absl::Time now,
                       std::ostream& out);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_PKI_COMMANDS_H_
