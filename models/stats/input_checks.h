// Input validation shared by the statistics: every public entry point checks its inputs with
// these and returns InvalidArgument with a "where: why" message instead of computing on
// garbage. Messages name positions (index 3), never values, so that no patient datum ends up
// in a log line.
#ifndef SCANCOV_MODELS_STATS_INPUT_CHECKS_H_
#define SCANCOV_MODELS_STATS_INPUT_CHECKS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace scancov::stats {

// OK when `values` is non-empty.
absl::Status CheckNonEmpty(absl::string_view where, absl::string_view what,
                           absl::Span<const double> values);

// OK when `size` equals `expected`.
absl::Status CheckLength(absl::string_view where, absl::string_view what, size_t size,
                         absl::string_view expected_what, size_t expected);

// OK when every value is finite (no NaN, no infinity).
absl::Status CheckFinite(absl::string_view where, absl::string_view what,
                         absl::Span<const double> values);

// OK when every value is exactly 0 or 1.
absl::Status CheckBinary(absl::string_view where, absl::string_view what,
                         absl::Span<const double> values);

// OK when `level` is a confidence level in (0, 1).
absl::Status CheckConfidenceLevel(absl::string_view where, double level);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_INPUT_CHECKS_H_
