// The site's side of an exact federated logistic regression (aggregator/logistic_study.cc):
// complete-case rows of the study's features (transformed as the spec says), the site's
// gradient, information matrix and log-likelihood at the round's coefficients, and nothing
// else. spec_json may restrict the rows to a split ("split": "train" | "holdout" | "all", or a
// per-site object; "holdout_fraction", "split_seed"), the same split model_evaluation uses, so a
// model trained on a site's training part is validated on its held-out part. A site with fewer
// events or non-events than its release policy's minimum answers
// "refused" (consistently every round) and takes no part in the fit.
#ifndef SCANCOV_NODE_FEDERATED_LOGISTIC_H_
#define SCANCOV_NODE_FEDERATED_LOGISTIC_H_

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace scancov::node {

// `beta`: the round's checkpoint (one float64 tensor "beta"), or null in round 0 (beta = 0).
absl::StatusOr<TaskOutcome> RunLogisticRegression(const v1::Task& task,
                                                  const protocol::TensorSet* beta,
                                                  DatasetSource& data,
                                                  const privacy::ReleasePolicy& policy,
                                                  const std::string& site_id);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_FEDERATED_LOGISTIC_H_
