#include "models/stats/input_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace scancov::stats {

absl::Status CheckNonEmpty(absl::string_view where, absl::string_view what,
                           absl::Span<const double> values) {
  if (values.empty())
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, " is empty"));
  return absl::OkStatus();
}

absl::Status CheckLength(absl::string_view where, absl::string_view what, size_t size,
                         absl::string_view expected_what, size_t expected) {
  if (size != expected) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, " has ", size, " values but ",
                                                   expected_what, " has ", expected));
  }
  return absl::OkStatus();
}

absl::Status CheckFinite(absl::string_view where, absl::string_view what,
                         absl::Span<const double> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, "[", i, "] is ",
                                                     std::isnan(values[i]) ? "NaN" : "infinite"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBinary(absl::string_view where, absl::string_view what,
                         absl::Span<const double> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0.0 && values[i] != 1.0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", what, "[", i, "] is not 0 or 1"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckConfidenceLevel(absl::string_view where, double level) {
  if (!(level > 0.0 && level < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": confidence level must be in (0, 1), got ", level));
  }
  return absl::OkStatus();
}

}  // namespace scancov::stats
