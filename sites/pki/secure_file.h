// Writing and reading key material with explicit permissions, refusing to clobber by default.
//
// Thread safety: thread-safe; concurrent writers of the same path are resolved by the file
// system (exactly one create wins when overwriting is refused).
#ifndef SCANCOV_SITES_PKI_SECURE_FILE_H_
#define SCANCOV_SITES_PKI_SECURE_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::sites {

enum class Overwrite { kRefuse, kAllow };

// Writes `contents` to `path` with exactly `mode` (not reduced or widened by the umask): to a
// private temporary file in the same directory, fsync'ed, then moved into place, so readers
// never see a partial file and a key is never readable by others, not even briefly. With
// Overwrite::kRefuse an existing `path` is an AlreadyExists error (checked atomically by
// link(2), not by a racy stat). The parent directory must exist.
absl::Status WriteFileWithMode(const std::string& path, absl::string_view contents, mode_t mode,
                               Overwrite overwrite);

// Reads a private key file, refusing (PermissionDenied, like ssh) one that the group or
// others may read or write: a CA key that leaked is a consortium that must be re-keyed.
absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_SECURE_FILE_H_
