#include "sites/pki/secure_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"

namespace scancov::sites {
namespace {

absl::Status ErrnoError(const std::string& path, absl::string_view what, int error) {
  const std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(error));
  switch (error) {
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status WriteAll(int fd, absl::string_view contents, const std::string& path) {
  while (!contents.empty()) {
    const ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "write", errno);
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return ErrnoError(path, "fsync", errno);
  return absl::OkStatus();
}

// Creates "<path>.tmpXXXXXX" (mkstemp: O_EXCL, mode 0600), sets `mode` and writes `contents`.
absl::StatusOr<std::string> WriteTemporary(const std::string& path, absl::string_view contents,
                                           mode_t mode) {
  std::string tmp = path + ".tmpXXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return ErrnoError(path, "creating a temporary file", errno);
  tmp = name.data();
  absl::Status status = absl::OkStatus();
  if (::fchmod(fd, mode) != 0) status = ErrnoError(tmp, "fchmod", errno);
  if (status.ok()) status = WriteAll(fd, contents, tmp);
  if (::close(fd) != 0 && status.ok()) status = ErrnoError(tmp, "close", errno);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return tmp;
}

}  // namespace

absl::Status WriteFileWithMode(const std::string& path, absl::string_view contents, mode_t mode,
                               Overwrite overwrite) {
  absl::StatusOr<std::string> tmp = WriteTemporary(path, contents, mode);
  if (!tmp.ok()) return tmp.status();
  if (overwrite == Overwrite::kAllow) {
    if (::rename(tmp->c_str(), path.c_str()) == 0) return absl::OkStatus();
    const int error = errno;
    ::unlink(tmp->c_str());
    return ErrnoError(path, "rename", error);
  }
  // link(2) fails with EEXIST instead of replacing, atomically; the temporary name goes either
  // way.
  const int linked = ::link(tmp->c_str(), path.c_str());
  const int error = errno;
  ::unlink(tmp->c_str());
  if (linked == 0) return absl::OkStatus();
  if (error == EEXIST) {
    return absl::AlreadyExistsError(path + ": already exists (use --force to replace)");
  }
  return ErrnoError(path, "link", error);
}

absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(path, "stat", errno);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s: private key is accessible by group or others (mode %04o); run chmod 600 %s", path,
        st.st_mode & 07777, path));
  }
  return ReadFileToString(path);
}

}  // namespace scancov::sites
