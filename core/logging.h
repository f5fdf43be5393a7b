// Process-wide spdlog set-up shared by every executable.
//
// Log lines must never carry patient data: log pseudonymous keys, counts and paths of
// configuration, not names, dates of birth or free-text clinical values.
#ifndef SCANCOV_CORE_LOGGING_H_
#define SCANCOV_CORE_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace scancov {

// level: trace, debug, info, warn, error, critical, off. `name` tags each line (e.g. "node:kb").
absl::Status SetupLogging(const std::string& name, const std::string& level);

}  // namespace scancov

#endif  // SCANCOV_CORE_LOGGING_H_
