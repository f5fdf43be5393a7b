// TabularData: the admission-feature table that local training and evaluation consume.
//
// LibTorch-free; the node fills it after imputation and scaling. A plain value type: copyable,
// movable, not synchronised.
#ifndef SCANCOV_MODELS_NN_TABULAR_DATA_H_
#define SCANCOV_MODELS_NN_TABULAR_DATA_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace scancov::nn {

struct TabularData {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> x;  // row-major, rows * cols features, all finite (imputed upstream)
  std::vector<float> y;  // rows labels, each exactly 0 or 1
};

// OK if rows >= 1, cols >= 1, x.size() == rows * cols, y.size() == rows, every feature is
// finite and every label is 0 or 1. Messages name the row/column index, never a value.
absl::Status ValidateTabularData(const TabularData& data);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_TABULAR_DATA_H_
