// The site's side of a federated intercept calibration
// (aggregator/studies/intercept_calibration_study.cc; spec, checkpoint and answers in
// protocol/wire/intercept_calibration.h): the published model's linear predictor without
// intercept for each patient of the study's split (protocol/wire/row_split.h), and the
// one-parameter Newton sums at the round's intercept. Only the variables the
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
                                                    const protocol::TensorSet* checkpoint,
                                                    DatasetSource& data,
                                                    const privacy::ReleasePolicy& policy,
                                                    const std::string& site_id);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_INTERCEPT_CALIBRATION_H_
