// The closing of the AI-severity study's PCA and Newton rounds (the study and its phases:
// ai_severity_study.cc; its spec, answers, results and checkpoint layout:
// protocol/wire/ai_severity.h). For each member: the exact federated PCA from the sites' sums
// of embeddings and outer products (stats::PcaFromSums), then exact federated Newton steps, one
// stats::LogisticNewtonCoordinator per member rebuilt each round by replaying the pooled
// summaries the earlier rounds recorded (nothing is kept outside the store).
//
// Pure functions of their arguments; thread-compatible. Malformed site results are refused with
// InvalidArgument naming the site and the member.
#ifndef SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_
#define SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "aggregator/server/study_logic.h"
#include "protocol/tensor_set.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::aggregator {

// The PCA round: `input` plus every member's head (wire::AiSeverityHeadTensors: the PCA and a
// zero beta); metrics "pca.n_scans" and "pca.explained_variance" (suffixed "_m<m>" with several
// members). FailedPrecondition when fewer than two scans were embedded.
absl::StatusOr<RoundOutcome> CloseAiSeverityPca(const wire::AiSeveritySpec& spec,
                                                const protocol::TensorSet& input,
                                                const std::vector<ResultRecord>& results);

// A Newton round: each member not yet converged takes one step (its new "beta" in the
// checkpoint; its fit, coefficients included, in result_json once converged); "next" is
// "evaluate" when every member has converged. Errors of the Newton coordinator (separation,
// no convergence within max_newton) end the study.
absl::StatusOr<RoundOutcome> CloseAiSeverityNewton(const wire::AiSeveritySpec& spec,
                                                   const protocol::TensorSet& input,
                                                   const std::vector<ResultRecord>& results,
                                                   const std::vector<RoundRecord>& history);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_
