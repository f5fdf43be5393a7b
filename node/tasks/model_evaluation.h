// The site's side of external validation (aggregator/studies/model_evaluation_study.cc): it
// scores its own patients with each model of the study and returns only aggregates per model:
// n, events, AUC with its DeLong 95% CI, the confusion counts of the high-risk group (hence
// sensitivity, specificity, PPV, NPV), ROC counts at the model's fixed threshold grid, and, when
// the study names a time-to-event outcome, Kaplan-Meier counts per risk group (event times
// rounded up to the end of a time bin the site chooses). Spec and answer:
// protocol/wire/model_evaluation.h.
//
// Every count released is 0 or at least the effective minimum cell count; what would break the
// rule is withheld with a reason code (node/tasks/model_evaluation_release.h): the confusion
// counts when a cell is too small (the coordinator chooses the model and its threshold, so a
// "high-risk" group could be one patient), a risk group's Kaplan-Meier table when no time bin
// of the site's ladder (1 day up to one bin) makes every cell pass, the count of patients not
// scored, a comparison's patient count.
//
// ROC counts (models/stats/roc_counts.h) are taken at the model's grid (wire::RocGridOf), known
// before any patient is seen, so the same at every site and summable; positive when score >=
// threshold. Only the grid points whose bins hold 0 or at least min_cell events and non-events
// are released (node/tasks/roc_release.h), with the high-risk threshold as an anchor when its
// confusion counts are released, so a site's points may be a subset of the grid. A refused
// model has no ROC.
//
// A patient for whom a score is not computable (missing or implausible inputs) is left out of
// that model's figures and counted; models below the site's minimum counts are "refused", and so
// is a fitted model with a feature the site's policy does not release. Published scores are
// computed from the variables the site releases only: one needing another is not computable.
#ifndef SCANCOV_NODE_MODEL_EVALUATION_H_
#define SCANCOV_NODE_MODEL_EVALUATION_H_

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::node {

// The tabular variables a task of `spec` reads besides its outcome, each once: per model, the
// inputs of its score that are admission variables (a published model's terms, the inputs of
// CURB-65, CALL, COVID-GRAM or the Yan rule, models/scores), a fitted model's features; then the
// survival time and event. NotFound for a published model models/scores does not have.
absl::StatusOr<std::vector<std::string>> EvaluationVariables(const wire::EvaluationSpec& spec);

// Runs the task (its spec read by wire::ParseEvaluationSpec) on the site's rows; result_json is a
// wire::EvaluationSiteAnswer. Reads only EvaluationVariables(spec) that `policy` allows, the
// survival fields and the outcome.
absl::StatusOr<TaskOutcome> RunModelEvaluation(const v1::Task& task, DatasetSource& data,
                                               const privacy::ReleasePolicy& policy,
                                               const std::string& site_id);

// The split a study asks of `site`: its "split" when a string, its entry for the site when an
// object ("all" when absent). For kinds that read a model_evaluation-like split without its spec
// (wire::EvaluationSpec::SplitFor is the same rule).
std::string SplitFor(const nlohmann::json& spec, const std::string& site);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_MODEL_EVALUATION_H_
