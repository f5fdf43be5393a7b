// The federated model selection's study spec (aggregator/selection_study.cc), parsed and bounded
// so that every batch and every site answer stays within what the wire carries
// (selection_wire.h).
//
// spec_json:
//   {"analysis": "model_selection", "outcome": "severe",
//    "variables": ["age", "spo2", ...],          // candidates, 1..64, table order = tie order
//    "initial_variables": [],                   // always in the model, selected first
//    "penalty_grid": [0.01, ..., 100],           // default 9 values log-spaced 0.01..100, <= 16
//    "folds": 5, "age_bins": 4, "seed": 0, "age_variable": "age",
//    "max_variables": 20, "min_auc_gain": 0.005, "min_observed": 300, "min_cell_count": 0}
// Integers must be JSON integers in range (folds 2..10, age_bins 1..10, max_variables 1..20,
// min_observed >= 1, min_cell_count 0..10^6), min_auc_gain a number in [0, 1]; a field of
// another type is refused with its name, never thrown or cast out of range.
// A batch has (candidates x penalties x folds) models; the spec is refused when that exceeds
// 4096, or when a site's answer to the largest batch would exceed about 3 MB (it travels in one
// UploadHeader; gRPC's default message limit is 4 MB). With the default grid, folds and
// max_variables that allows about 24 candidate variables; about 50 with max_variables 5.
//
// Thread safety: pure functions.
#ifndef SCANCOV_MODELS_SCORES_SELECTION_SPEC_H_
#define SCANCOV_MODELS_SCORES_SELECTION_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/multivariable_pipeline.h"

namespace scancov::scores {

inline constexpr size_t kMaxSelectionVariables = 64;
inline constexpr size_t kMaxSelectionModelsPerBatch = 4096;

struct SelectionSpec {
  std::string outcome;
  std::vector<std::string> variables;
  PipelineOptions options;
  int min_cell_count = 0;
};

// InvalidArgument naming the field for a malformed or unbounded spec.
absl::StatusOr<SelectionSpec> ParseSelectionSpec(const std::string& spec_json);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_SELECTION_SPEC_H_
