// Small POSIX file helpers for the upload spool (upload_spool.h): appends, positioned reads,
// truncation and sizes, with errors that say what failed. Paths here are the spool's own
// hash-derived names, never a site's words.
//
// Error codes are chosen for the node on the other end of an upload: a full disk is
// RESOURCE_EXHAUSTED and any other I/O failure UNAVAILABLE, both of which a node retries
// later, instead of giving up on a result the aggregator could not store.
#ifndef SCANCOV_AGGREGATOR_SERVER_SPOOL_FILES_H_
#define SCANCOV_AGGREGATOR_SERVER_SPOOL_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::aggregator::spool {

// The status for a failed system call on `path` (errno read by the callee).
absl::Status IoError(const std::string& what, const std::string& path);

// An open file descriptor, closed on destruction. Movable, not copyable.
class File {
 public:
  File() = default;
  ~File() { Close(); }
  File(File&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // O_RDONLY; or O_WRONLY | O_CREAT | O_APPEND (mode 0600) with `append`.
  static absl::StatusOr<File> Open(const std::string& path, bool append);
  bool is_open() const { return fd_ >= 0; }
  // Writes everything (retrying short writes).
  absl::Status Append(absl::string_view bytes);
  // Reads exactly `size` bytes at `offset` into `out` (resized); DataLoss when the file is
  // shorter.
  absl::Status ReadAt(uint64_t offset, size_t size, std::string* out) const;
  absl::Status Truncate(uint64_t size);
  absl::Status Sync();
  absl::StatusOr<uint64_t> Size() const;
  void Close();

 private:
  int fd_ = -1;
  std::string path_;
};

bool Exists(const std::string& path);
// Size of a regular file, or -1 when it is missing.
int64_t SizeOf(const std::string& path);
// Removes a file; a missing file is fine.
absl::Status RemoveFile(const std::string& path);

}  // namespace scancov::aggregator::spool

#endif  // SCANCOV_AGGREGATOR_SERVER_SPOOL_FILES_H_
