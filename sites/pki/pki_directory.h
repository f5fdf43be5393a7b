// The consortium PKI on disk, as `scancov-pki` keeps it:
//
//   <dir>/ca.crt                     CA certificate (0644), distributed to every participant
//   <dir>/ca.key                     CA private key (0600), stays with the operator
//   <dir>/<role>s/<id>.crt           issued certificate (0644)
//   <dir>/<role>s/<id>.key           its private key (0600), only when the CA generated it
//                                    (Issue: tests and the demo; not for production)
//   <dir>/revoked.txt                the CA's record of revocations (revocation_index.h)
//   <dir>/crlnumber                  the number of the last CRL written
//   <dir>/crl.pem                    the current CRL (0644), distributed to every participant
//
// e.g. pki/sites/kb.crt, pki/coordinators/alice.crt, pki/aggregators/aggregator.crt.
//
// In production every participant makes its own key and request (WriteKeyAndRequest, at the
// site) and the CA only signs the request (Sign): no private key but the CA's own is ever in
// this directory.
// Directories are created as needed (permissions from the umask; the keys themselves are
// always 0600). Nothing is ever overwritten unless the caller asks.
//
// Thread safety: a PkiDirectory is immutable and thread-safe; concurrent writers of the same
// files are resolved by the file system (see secure_file.h).
#ifndef SCANCOV_SITES_PKI_PKI_DIRECTORY_H_
#define SCANCOV_SITES_PKI_PKI_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sites/pki/certificate_authority.h"
#include "sites/pki/certificate_request.h"
#include "sites/pki/identity.h"
#include "sites/pki/revocation.h"
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
  std::string RevocationIndexPath() const;  // <root>/revoked.txt
  std::string CrlNumberPath() const;        // <root>/crlnumber
  std::string CrlPath() const;              // <root>/crl.pem

  // Creates a CA and writes ca.key then ca.crt. With Overwrite::kRefuse an existing ca.key or
  // ca.crt is AlreadyExists and nothing is written. Replacing a CA invalidates every
  // certificate it issued.
  absl::StatusOr<CertificateAndKey> CreateCa(const CaOptions& options, Overwrite overwrite) const;

  // Reads ca.crt and ca.key (the key must not be group/world accessible).
  absl::StatusOr<CertificateAndKey> LoadCa() const;

  // CA-side key generation, for tests and the demo's convenience, NOT for production (the key
  // is made where it is not used and must then travel): issues a key and certificate with the
  // CA of this directory and writes the key then the certificate. With Overwrite::kRefuse an
  // existing key or certificate is AlreadyExists and nothing is written.
  absl::StatusOr<CertificateAndKey> Issue(const IssueOptions& options, Overwrite overwrite) const;

  // Signs a participant's request (SignCertificateRequest: the CA decides role and id) and
  // writes the certificate to CertificatePath (0644). With Overwrite::kRefuse an existing
  // certificate is AlreadyExists and nothing is signed.
  absl::StatusOr<SignedRequest> Sign(absl::string_view request_pem, const SignOptions& options,
                                     Overwrite overwrite) const;

  // Records in revoked.txt that `certificate_pem` (issued by this CA) is revoked from `now`.
  // AlreadyExists when its serial is already recorded; RevocationRecordFor's errors otherwise.
  // Takes effect for peers once a CRL is written (WriteCrl) and distributed.
  absl::StatusOr<RevocationRecord> Revoke(absl::string_view certificate_pem,
                                          RevocationReason reason, absl::Time now) const;

  // The records of revoked.txt (empty when nothing was revoked).
  absl::StatusOr<std::vector<RevocationRecord>> Revocations() const;

  // Writes crl.pem (0644, replacing the previous one atomically) listing every revocation in
  // revoked.txt, signed by the CA, numbered one past the last CRL (crlnumber; options.crl_number
  // is ignored). Returns the CRL as written.
  absl::StatusOr<RevocationList> WriteCrl(const CrlOptions& options) const;

 private:
  // Writes key (0600) then certificate (0644), after checking neither exists (kRefuse).
  absl::Status WritePair(const std::string& cert_path, const std::string& key_path,
                         const CertificateAndKey& pair, Overwrite overwrite) const;

  std::string root_;
};

// The participant's side: generates a key and a request (CreateCertificateRequest) and writes
// the key to `key_path` (0600) then the request to `request_path` (0644), creating their
// directories. With Overwrite::kRefuse an existing key or request is AlreadyExists and nothing
// is written: a key in use is never replaced by accident.
absl::StatusOr<RequestAndKey> WriteKeyAndRequest(const RequestOptions& options,
                                                 const std::string& key_path,
                                                 const std::string& request_path,
                                                 Overwrite overwrite);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_PKI_DIRECTORY_H_
