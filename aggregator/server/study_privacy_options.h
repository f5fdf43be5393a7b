// The privacy options of a study (StudySpec.privacy_json: "dp", "secure_aggregation"), checked
// at its creation before any site is asked; the nodes check them again and keep their own
// budget. Distributed DP (privacy/dp/distributed_dp.h) is checked with the secure aggregation it
// needs: present in the same study (hence a strategy that sums, fedavg or fedprox), and a
// fixed-point range that holds a clipped update plus its noise. DP-SGD (per-example clipping at
// the node) only for tabular_training with a network without BatchNorm; with or without secure
// aggregation (the update is already private). The cost line states each mode's plan as the
// nodes charge it (dp_sgd: max(1, local_epochs) x round(1/q) steps per round).
//
// Thread safety: pure functions.
#ifndef SCANCOV_AGGREGATOR_SERVER_STUDY_PRIVACY_OPTIONS_H_
#define SCANCOV_AGGREGATOR_SERVER_STUDY_PRIVACY_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// A line for the audit and the log (secure aggregation; what each site's DP releases cost at
// most), "" without options. InvalidArgument "study spec: ..." naming the option at fault.
absl::StatusOr<std::string> CheckStudyPrivacyOptions(const v1::StudySpec& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_STUDY_PRIVACY_OPTIONS_H_
