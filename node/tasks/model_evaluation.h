// The site's side of external validation (aggregator/model_evaluation_study.cc): it scores its
// own patients with each model of the study and returns only aggregates per model: n, events,
// AUC with its DeLong 95% CI, the confusion counts of the high-risk group (hence sensitivity,
// specificity, PPV, NPV), ROC counts at a fixed threshold grid, and, when the study names a
// time-to-event outcome, Kaplan-Meier counts per risk group (event times rounded up to whole days).
//
// ROC counts (models/stats/roc_counts.h): {"positives", "negatives", "points": [{"threshold",
// "tp", "fp"}]}, positive when score >= threshold, at a grid known before any patient is seen,
// so the same at every site and summable: the model's "roc_grid" (at most 101 increasing
// numbers), else 0.00, 0.01, ..., 1.00 for probabilities (published, covid_gram, logistic),
// 0..5 for CURB-65, 4..13 for CALL, 0 and 1 for the Yan rule. Only the grid points whose bins
// hold 0 or at least min_cell events and non-events are released (node/roc_release.h), so a
// site's "points" may be a subset of the grid. A refused model has no ROC.
//
// spec_json:
//   {"analysis": "model_evaluation", "outcome": "severe",
//    "split": "all" | "holdout" | "train" | {"kb": "holdout", "igr": "all"},
//    "holdout_fraction": 0.19, "split_seed": 7,          // the same split as the training study
//    "survival": {"time": "time_to_event_days", "event": "event"},
//    "min_cell_count": 10,
//    "compare": [["trimodal", "clinical"]],  // paired DeLong tests on the same patients
//    "models": [
//      {"name": "ScanCov", "kind": "published", "model": "scancov_released",
//       "thresholds": [0.144, 0.369]},                   // risk groups: low / medium / high
//      {"name": "CURB-65", "kind": "curb65", "thresholds": [2, 3],
//       "roc_grid": [0, 1, 2, 3, 4, 5]},                 // optional, this is the default
//      {"name": "CALL", "kind": "call", "thresholds": [7, 10]},
//      {"name": "COVID-GRAM", "kind": "covid_gram", "thresholds": [0.017, 0.404]},
//      {"name": "Yan", "kind": "yan", "thresholds": [0.5, 0.5]},
//      {"name": "refit", "kind": "logistic", "features": [...], "coefficients": [b0, b1, ...],
//       "thresholds": [0.144, 0.369]}]}
// A patient for whom a score is not computable (missing or implausible inputs) is left out of
// that model's figures and counted; models below the site's minimum counts are "refused", and so
// is a fitted model with a feature the site's policy does not release. Published scores are
// computed from the variables the site releases only: one needing another is not computable.
#ifndef SCANCOV_NODE_MODEL_EVALUATION_H_
#define SCANCOV_NODE_MODEL_EVALUATION_H_

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace scancov::node {

absl::StatusOr<TaskOutcome> RunModelEvaluation(const v1::Task& task, DatasetSource& data,
                                               const privacy::ReleasePolicy& policy,
                                               const std::string& site_id);

// The split a study asks of `site`: its "split" when a string, its entry for the site when an
// object ("all" when absent).
std::string SplitFor(const nlohmann::json& spec, const std::string& site);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_MODEL_EVALUATION_H_
