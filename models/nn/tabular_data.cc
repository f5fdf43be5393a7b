#include "models/nn/tabular_data.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace scancov::nn {

absl::Status ValidateTabularData(const TabularData& data) {
  if (data.rows < 1 || data.cols < 1) {
    return absl::InvalidArgumentError(absl::StrCat("TabularData: needs at least one row and one ",
                                                   "column, got ", data.rows, " x ", data.cols));
  }
  if (data.rows > std::numeric_limits<int64_t>::max() / data.cols ||
      static_cast<uint64_t>(data.rows * data.cols) != data.x.size()) {
    return absl::InvalidArgumentError(absl::StrCat("TabularData: x has ", data.x.size(),
                                                   " values, expected rows * cols = ", data.rows,
                                                   " * ", data.cols));
  }
  if (static_cast<uint64_t>(data.rows) != data.y.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TabularData: y has ", data.y.size(), " labels, expected rows = ", data.rows));
  }
  for (size_t i = 0; i < data.x.size(); ++i) {
    if (!std::isfinite(data.x[i])) {
      return absl::InvalidArgumentError(absl::StrCat("TabularData: feature at row ", i / data.cols,
                                                     ", column ", i % data.cols,
                                                     " is not finite (impute before training)"));
    }
  }
  for (size_t i = 0; i < data.y.size(); ++i) {
    if (data.y[i] != 0.0f && data.y[i] != 1.0f) {
      return absl::InvalidArgumentError(
          absl::StrCat("TabularData: label at row ", i, " is not 0 or 1"));
    }
  }
  return absl::OkStatus();
}

}  // namespace scancov::nn
