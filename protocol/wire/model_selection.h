// The model_selection kind on the wire: the seed's multivariable model building run federated
// (models/scores/selection_driver.h for the aggregator's round plan, selection_site.h for a
// site's answers). Defined and checked once here, read by the node
// (node/tasks/model_selection_task.cc, federated_selection.h), the aggregator
// (aggregator/studies/model_selection_study.cc) and the coordinator's report
// (aggregator/coordinator/model_selection_report.cc). The round's request (the checkpoint) is in
// model_selection_request.h, a site's answers in model_selection_answer.h.
//
// Spec (StudySpec.spec_json):
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
// The combined result of a round (RoundStatus.result_json):
//   {"analysis": "model_selection", "stage": "step 2", "models": 135,
//    "sites": ["hegp", "kb"], "refused": [{"site", "reason"}], "rejected": [{"site", "reason"}],
//    "selection": {...}}          // the last round: SelectionOutcome
//   selection: {"outcome": "severe", "rounds": 37,
//               "steps": [{"variable", "mean_cv_auc", "penalty"}], "rejected": step | null,
//               "dropped_sparse": [...], "dropped_constant": [...],
//               "final": {"variables": [{"name", "imputation_mean", "scale", "coefficient"}],
//                         "intercept", "penalty", "mean_cv_auc", "n", "events"}}
// The aggregator keeps the round's pooled answers (SelectionAggregates) beside it in its store,
// under aggregator/server/study_logic.h's kReplayKey, which the coordinator never sees.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_H_
#define SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/multivariable_pipeline.h"
#include "models/scores/selection_driver.h"
#include "protocol/wire/model_selection_answer.h"
#include "protocol/wire/model_selection_request.h"

namespace scancov::wire {

struct SelectionSpec {
  std::string outcome;
  std::vector<std::string> variables;
  scores::PipelineOptions options;
  int min_cell_count = 0;
};

// InvalidArgument "model selection: spec_json: ..." naming the field for a malformed or
// unbounded spec (see above), or one that names another analysis.
absl::StatusOr<SelectionSpec> ParseSelectionSpec(const std::string& spec_json);
std::string ToJson(const SelectionSpec& spec);

// Under secure aggregation: the length of the longest vector a site of `spec` sends in a round
// (SelectionSumLength of its largest batch of fits, or of a sums round). The spec's bound on a
// site's answer (about 3 MB) keeps it below about 150,000 values (1.2 MB masked).
uint64_t LargestSelectionSumLength(const SelectionSpec& spec);
inline constexpr uint64_t kMaxSelectionSumValues = uint64_t{1} << 18;

// A site left out of a round, and why.
struct SelectionSiteNote {
  std::string site, reason;
};

// The selection the last round found.
struct SelectionOutcome {
  std::string outcome;  // the study's
  int rounds = 0;
  scores::FederatedSelection selection;
};

struct SelectionRoundResult {
  std::string stage;  // the driver's stage the round answered (SelectionDriver::stage)
  int64_t models = 0;
  std::vector<std::string> sites;           // that answered, sorted
  std::vector<SelectionSiteNote> refused;   // by their release policy
  std::vector<SelectionSiteNote> rejected;  // answers that did not fit the study
  std::optional<SelectionOutcome> selection;
};
std::string ToJson(const SelectionRoundResult& result);
// InvalidArgument "model selection result: ..." for a result that is not of the shape above:
// fields of the wrong types, a selection whose final model's variables lack a field, ...
absl::StatusOr<SelectionRoundResult> ParseSelectionRoundResult(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_H_
