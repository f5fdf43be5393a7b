// RevocationChecker: the check that the aggregator runs on every call's client certificate and
// a node on the aggregator's certificate, against the CRL file that the consortium publishes
// (`scancov-pki crl`, revocation.h).
//
// The CRL file is watched, not read once: before each check the file's identity (device, inode,
// size, modification time) is compared with the one loaded, and a changed file is read and
// verified again, so revoking a certificate needs no restart. A replacement that cannot be
// used (unreadable, malformed, not signed by the CA, or older than the one in use by its
// cRLNumber, i.e. a rollback) is reported and the CRL in use is kept. A CRL past its nextUpdate
// is still applied but reported loudly (at load and then every `warn_every` while checks
// happen): newer revocations may be missing from it.
//
// Thread safety: thread-safe; Check may be called from any number of threads.
#ifndef SCANCOV_SITES_PKI_REVOCATION_CHECKER_H_
#define SCANCOV_SITES_PKI_REVOCATION_CHECKER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/env.h"
#include "sites/pki/revocation.h"

namespace scancov::sites {

struct RevocationCheckerOptions {
  Clock* clock = Clock::Real();  // not owned
  // Receives the reports (an expired CRL, an unusable replacement), with the checker's lock
  // held: it must not call back into the checker. Default: spdlog's warning level.
  std::function<void(const absl::Status&)> warn;
  // How often an expired CRL is reported again while checks happen.
  absl::Duration warn_every = absl::Minutes(10);
};

class RevocationChecker {
 public:
  // Reads and verifies `crl_path` against the CA certificate `ca_certificate_pem`. Fails (so a
  // program does not start on it) when the file is missing, malformed or not signed by the CA;
  // an expired CRL is accepted and reported.
  static absl::StatusOr<std::unique_ptr<RevocationChecker>> Open(
      std::string ca_certificate_pem, std::string crl_path, RevocationCheckerOptions options = {});

  RevocationChecker(const RevocationChecker&) = delete;
  RevocationChecker& operator=(const RevocationChecker&) = delete;

  // OK when the first certificate in `certificate_pem` is not revoked by the CRL in use (after
  // reloading a changed file); otherwise RevocationList::CheckCertificate's Unauthenticated
  // refusal, which names the serial and the reason.
  absl::Status Check(absl::string_view certificate_pem);

  // The CRL in use (after reloading a changed file).
  uint64_t crl_number();
  absl::Time next_update();
  const std::string& crl_path() const { return crl_path_; }

 private:
  // What identifies one version of the file; a rename onto the path changes the inode.
  struct FileState {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileState& o) const {
      return exists == o.exists && device == o.device && inode == o.inode && size == o.size &&
             mtime_ns == o.mtime_ns;
    }
  };

  RevocationChecker(std::string ca_certificate_pem, std::string crl_path,
                    RevocationCheckerOptions options, RevocationList list, FileState state);

  static FileState Stat(const std::string& path);
  static absl::StatusOr<RevocationList> Load(const std::string& path,
                                             const std::string& ca_certificate_pem);
  void RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WarnIfExpiredLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string ca_certificate_pem_;
  const std::string crl_path_;
  const RevocationCheckerOptions options_;
  absl::Mutex mu_;
  RevocationList list_ ABSL_GUARDED_BY(mu_);
  FileState seen_ ABSL_GUARDED_BY(mu_);
  absl::Time last_expiry_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_REVOCATION_CHECKER_H_
