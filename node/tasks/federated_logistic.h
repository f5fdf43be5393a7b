// The site's side of an exact federated logistic regression
// (aggregator/studies/logistic_regression_study.cc; spec, checkpoint and answers in
// protocol/wire/logistic_regression.h): complete-case rows of the study's features (transformed
// as the spec says), the site's gradient, information matrix and log-likelihood at the round's
// coefficients, and nothing else. The spec may restrict the rows to a split
// (protocol/wire/row_split.h), the same split model_evaluation uses, so a model trained on a
// site's training part is validated on its held-out part. A site with fewer
// events or non-events than its release policy's minimum, or whose policy does not release one
// of the features (privacy::IsVariableAllowed), answers "refused" (consistently every round)
// and takes no part in the fit.
//
// After convergence the study's "terciles" rounds send the fitted beta with
// "tercile_candidates" (linear predictors); the site then returns, for the same rows, only how
// many have x'beta <= each candidate ("tercile_counts") and how many rows there are ("n_rows"),
// at most wire::kMaxTercileCandidates finite candidates a round (privacy argument in
// models/stats/federated_quantile.h), at most TercileBudget::kMaxRoundsPerStudy rounds per
// study and all with the same finite beta (node/tercile_budget.h: a task that breaks either
// rule fails with PermissionDenied and nothing is counted). The same refusal rule applies, so
// exactly the sites and rows of the fit are counted.
#ifndef SCANCOV_NODE_FEDERATED_LOGISTIC_H_
#define SCANCOV_NODE_FEDERATED_LOGISTIC_H_

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "node/tasks/tercile_budget.h"
#include "privacy/release_policy.h"

namespace scancov::node {

// `checkpoint`: the round's (wire::LogisticCheckpoint), or null in round 0 (beta = 0).
// `terciles`: the node's record of the terciles rounds it answered.
absl::StatusOr<TaskOutcome> RunLogisticRegression(
    const v1::Task& task, const protocol::TensorSet* checkpoint, DatasetSource& data,
    const privacy::ReleasePolicy& policy, const std::string& site_id, TercileBudget& terciles);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_FEDERATED_LOGISTIC_H_
