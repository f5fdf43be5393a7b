// From a site's admission rows to the model's input matrix, the same way at every site.
//
// The study's spec says which variables, which transform and which fixed centre/scale to use
// (protocol/wire/tabular_features.h), so every site computes identical features without sharing
// any data. A missing value becomes 0 after standardisation, i.e. it is imputed at the centre.
// The train/validation split is by a keyed hash of the patient's pseudonym, so it is stable
// across rounds and restarts and needs no randomness.
#ifndef SCANCOV_NODE_TABULAR_FEATURES_H_
#define SCANCOV_NODE_TABULAR_FEATURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/wire/tabular_features.h"
#include "protocol/wire/tabular_training.h"

namespace scancov::node {

// Rows as read from the node's store: x is row-major with NaN for missing values.
struct TabularRows {
  std::vector<std::string> keys;  // pseudonymous patient keys
  std::vector<std::string> columns;
  std::vector<double> x;
  std::vector<double> y;  // outcome, 0/1
};

// Where a runner gets a site's admission data from (the clinical store in production).
class DatasetSource {
 public:
  virtual ~DatasetSource() = default;
  // Rows with a known outcome; unknown variables are an error naming them.
  virtual absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                           const std::string& outcome) = 0;
};

using FeatureSpec = wire::FeatureSpec;
using TabularTaskSpec = wire::TabularTrainingSpec;

// The tabular_training spec (wire::ParseTabularTrainingSpec). Kept for
// node/tasks/model_evaluation.cc, which reads its fitted models' features with it; new code
// reads specs through protocol/wire.
inline absl::StatusOr<TabularTaskSpec> ParseTabularTaskSpec(const std::string& spec_json) {
  return wire::ParseTabularTrainingSpec(spec_json);
}

// Whether a patient falls in the held-out part of a deterministic split: a keyed hash of the
// pseudonym, so the split is stable across rounds, restarts and studies using the same seed.
bool InHoldout(const std::string& key, uint64_t seed, double holdout_fraction);

// The feature's transform then (t(x) - center) / scale; NaN stays NaN.
double TransformFeature(const FeatureSpec& feature, double raw);

// A prepared split: float features (row-major), labels, as the model consumes them.
struct PreparedSplit {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> x;
  std::vector<float> y;
};

struct PreparedData {
  PreparedSplit train;
  PreparedSplit validation;
};

absl::StatusOr<PreparedData> PrepareTabular(const TabularRows& rows, const TabularTaskSpec& spec,
                                            uint64_t split_seed);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TABULAR_FEATURES_H_
