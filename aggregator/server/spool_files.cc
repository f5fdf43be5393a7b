#include "aggregator/server/spool_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator::spool {

absl::Status IoError(const std::string& what, const std::string& path) {
  const int err = errno;
  const std::string message =
      absl::StrCat("upload spool: ", what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

absl::StatusOr<File> File::Open(const std::string& path, bool append) {
  const int flags = append ? (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return IoError("cannot open", path);
  File file;
  file.fd_ = fd;
  file.path_ = path;
  return file;
}

absl::Status File::Append(absl::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot write", path_);
    p += n;
    left -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status File::ReadAt(uint64_t offset, size_t size, std::string* out) const {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd_, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path_);
    if (n == 0) {
      return absl::DataLossError(absl::StrCat("upload spool: ", path_, " ends at ", offset + done,
                                              ", expected ", offset + size));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status File::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return IoError("cannot truncate", path_);
  return absl::OkStatus();
}

absl::Status File::Sync() {
  if (::fsync(fd_) != 0) return IoError("cannot sync", path_);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> File::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return IoError("cannot stat", path_);
  return static_cast<uint64_t>(st.st_size);
}

void File::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Exists(const std::string& path) { return SizeOf(path) >= 0; }

int64_t SizeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return static_cast<int64_t>(st.st_size);
}

absl::Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError("cannot remove", path);
  return absl::OkStatus();
}

}  // namespace scancov::aggregator::spool
