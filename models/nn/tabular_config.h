// TabularNetConfig: the shape of the networks over tabular admission features (`logistic`,
// `severity_mlp`), as a struct and as the JSON object that travels in a training task, e.g.
//   {"input_dim": 12, "hidden": [32, 16], "dropout": 0.1, "batch_norm": true}
//
// LibTorch-free. A plain value type: copyable, movable, not synchronised.
#ifndef SCANCOV_MODELS_NN_TABULAR_CONFIG_H_
#define SCANCOV_MODELS_NN_TABULAR_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::nn {

struct TabularNetConfig {
  int64_t input_dim = 0;        // number of features, >= 1 (required)
  std::vector<int64_t> hidden;  // widths of the hidden layers, each >= 1; empty for `logistic`
  double dropout = 0.0;         // in [0, 1); after each hidden layer
  bool batch_norm = true;       // BatchNorm1d after each hidden Linear
};

// OK if every field is in range (see the comments above).
absl::Status ValidateTabularNetConfig(const TabularNetConfig& config);

// Parses a JSON object with the keys above; "input_dim" is required, the others default as in
// the struct. Unknown keys, wrong types and out-of-range values are refused (InvalidArgument),
// so that a typo in a task does not silently train a different network.
absl::StatusOr<TabularNetConfig> ParseTabularNetConfig(absl::string_view json);

// The JSON object ParseTabularNetConfig reads back to the same config.
std::string TabularNetConfigToJson(const TabularNetConfig& config);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_TABULAR_CONFIG_H_
