// The consortium PKI on disk, as `scancov-pki` keeps it:
//
//   <dir>/ca.crt                     CA certificate (0644), distributed to every participant
//   <dir>/ca.key                     CA private key (0600), stays with the operator
//   <dir>/<role>s/<id>.crt           issued certificate (0644)
//   <dir>/<role>s/<id>.key           its private key (0600), handed to that participant only
//
// e.g. pki/sites/kb.crt, pki/coordinators/alice.crt, pki/aggregators/aggregator.crt.
// Directories are created as needed (permissions from the umask; the keys themselves are
// always 0600). Nothing is ever overwritten unless the caller asks.
//
// Thread safety: a PkiDirectory is immutable and thread-safe; concurrent writers of the same
// files are resolved by the file system (see secure_file.h).
#ifndef SCANCOV_SITES_PKI_PKI_DIRECTORY_H_
#define SCANCOV_SITES_PKI_PKI_DIRECTORY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/identity.h"
#include "sites/pki/secure_file.h"

namespace scancov::sites {

class PkiDirectory {
 public:
  explicit PkiDirectory(std::string root);

  const std::string& root() const { return root_; }
  std::string CaCertificatePath() const;
  std::string CaKeyPath() const;
  // "<root>/<role>s"
  std::string RoleDirectory(Role role) const;
  // "<root>/<role>s/<id>.crt" and ".key". `identity.id` must be valid (ValidateId).
  std::string CertificatePath(const PeerIdentity& identity) const;
  std::string KeyPath(const PeerIdentity& identity) const;

  // Creates a CA and writes ca.key then ca.crt. With Overwrite::kRefuse an existing ca.key or
  // ca.crt is AlreadyExists and nothing is written. Replacing a CA invalidates every
  // certificate it issued.
  absl::StatusOr<CertificateAndKey> CreateCa(const CaOptions& options, Overwrite overwrite) const;

  // Reads ca.crt and ca.key (the key must not be group/world accessible).
  absl::StatusOr<CertificateAndKey> LoadCa() const;

  // Issues a certificate with the CA of this directory and writes its key then certificate.
  // With Overwrite::kRefuse an existing key or certificate is AlreadyExists and nothing is
  // written.
  absl::StatusOr<CertificateAndKey> Issue(const IssueOptions& options, Overwrite overwrite) const;

 private:
  // Writes key (0600) then certificate (0644), after checking neither exists (kRefuse).
  absl::Status WritePair(const std::string& cert_path, const std::string& key_path,
                         const CertificateAndKey& pair, Overwrite overwrite) const;

  std::string root_;
};

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_PKI_DIRECTORY_H_
