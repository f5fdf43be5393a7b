// AnalysisTaskRunner: ANALYZE tasks. "logistic_regression" goes to node/federated_logistic.h,
// "model_selection" to node/federated_selection.h,
// "model_evaluation" to node/model_evaluation.h, "intercept_calibration" to
// node/intercept_calibration.h.
// For the "univariate_association" analysis it computes, at
// this site, one univariate logistic regression per variable term against the study outcome
// (odds ratio per one site SD for continuous and ordinal variables, per level for binary ones,
// each level against level 0 for categorical ones) and returns only these aggregates: OR, 95%
// CI, two-sided Wald p, signed z, log OR and its SE, n and events. Terms the site's release
// policy refuses are reported as refused with the rule's reason; they are never sent.
//
// Task spec_json:
//   {"analysis": "univariate_association", "outcome": "severe",
//    "variables": ["age", "ldh", ...],      // empty or absent: every dictionary variable
//    "min_cell_count": 10}                   // may tighten the site's policy, never loosen it
//
// Result JSON (UploadHeader.result_json):
//   {"analysis": ..., "outcome": ..., "n_patients": N, "n_events": E, "min_cell_count": k,
//    "terms": [{"term": "ggo=2", "variable": "ggo", "type": "categorical", "status": "ok",
//               "n": .., "events": .., "or": .., "ci_lower": .., "ci_upper": .., "p": ..,
//               "z": .., "log_or": .., "se": ..},
//              {"term": "cancer", "variable": "cancer", "type": "binary",
//               "status": "refused" | "failed", "reason": "..."}]}
#ifndef SCANCOV_NODE_ANALYSIS_RUNNER_H_
#define SCANCOV_NODE_ANALYSIS_RUNNER_H_

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "node/tercile_budget.h"
#include "privacy/release_policy.h"

namespace scancov::node {

class AnalysisTaskRunner : public TaskRunner {
 public:
  // `data` (and `terciles`, when given) must outlive the runner. `terciles`: the node's
  // persistent record of answered terciles rounds; null keeps one in memory.
  AnalysisTaskRunner(DatasetSource* data, privacy::ReleasePolicy policy, std::string site_id = "",
                     TercileBudget* terciles = nullptr)
      : data_(data),
        policy_(std::move(policy)),
        site_id_(std::move(site_id)),
        terciles_(terciles != nullptr ? terciles : &own_terciles_) {}

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;

 private:
  DatasetSource* data_;
  privacy::ReleasePolicy policy_;
  std::string site_id_;
  TercileBudget own_terciles_;
  TercileBudget* terciles_;
};

// Dispatches a task: ANALYZE to `analysis`; training tasks whose spec says
// "task": "segmentation" to `segmentation` (when given); other training tasks to `training`.
class DispatchingRunner : public TaskRunner {
 public:
  DispatchingRunner(TaskRunner* training, TaskRunner* analysis, TaskRunner* segmentation = nullptr,
                    TaskRunner* severity = nullptr)
      : training_(training),
        analysis_(analysis),
        segmentation_(segmentation),
        severity_(severity) {}
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;

 private:
  TaskRunner* training_;
  TaskRunner* analysis_;
  TaskRunner* segmentation_;
  TaskRunner* severity_;  // "task": "ai_severity" (all task kinds)
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_ANALYSIS_RUNNER_H_
