// The site's side of a federated intercept calibration (aggregator/intercept_study.cc): the
// published model's linear predictor without intercept for each patient of the study's split
// (node/model_evaluation.h's "split", "split_seed", "holdout_fraction"), and the one-parameter
// Newton sums at the round's intercept (checkpoint tensor "intercept"). Only the variables the
// site's policy releases are used (a patient needing another is not computable); a site below
// its minimum event/non-event counts answers "refused".
#ifndef SCANCOV_NODE_INTERCEPT_CALIBRATION_H_
#define SCANCOV_NODE_INTERCEPT_CALIBRATION_H_

#include <string>

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace scancov::node {

absl::StatusOr<TaskOutcome> RunInterceptCalibration(const v1::Task& task,
                                                    const protocol::TensorSet* intercept,
                                                    DatasetSource& data,
                                                    const privacy::ReleasePolicy& policy,
                                                    const std::string& site_id);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_INTERCEPT_CALIBRATION_H_
