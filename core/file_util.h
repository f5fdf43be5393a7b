// Whole-file reads and crash-safe writes with errors that name the path.
#ifndef SCANCOV_CORE_FILE_UTIL_H_
#define SCANCOV_CORE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);
// Writes to "<path>.tmp" then renames over path, so readers never see a half-written file.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view contents);
// Creates the directory and its parents if missing.
absl::Status MakeDirs(const std::string& path);

}  // namespace scancov

#endif  // SCANCOV_CORE_FILE_UTIL_H_
