// The AI-severity study's spec and the closing of its PCA and Newton rounds (the study, its
// phases and its checkpoint layout: ai_severity_study.cc). For each member: the exact federated
// PCA from the sites' sums of embeddings and outer products, then exact federated Newton steps,
// one stats::LogisticNewtonCoordinator per member rebuilt each round by replaying the pooled
// summaries the earlier rounds recorded (nothing is kept outside the store).
//
// Pure functions of their arguments; thread-compatible. Malformed site results are refused with
// InvalidArgument naming the site and the member.
#ifndef SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_
#define SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "aggregator/server/study_logic.h"
#include "models/stats/logistic_model.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct AiSeveritySpec {
  int components = 40;              // "pca_components", 1..512
  int members = 1;                  // encoder configs: the size of "encoders", or 1
  stats::LogisticOptions logistic;  // "l2", "max_newton"
};

// Reads spec_json (see ai_severity_study.cc). InvalidArgument for another task, no outcome,
// "encoder" and "encoders" together, an "encoders" that is not an array of 1..8 objects, two
// identical members, or values out of range.
absl::StatusOr<AiSeveritySpec> ParseAiSeveritySpec(const v1::StudySpec& study);

// Member m's tensor name prefix in the checkpoint: "m<m>/".
std::string AiSeverityMemberPrefix(int m);

// The PCA round: `input` plus every member's "pca.mean", "pca.components", "pca.scale" and a zero
// "beta"; metrics "pca.n_scans" and "pca.explained_variance" (suffixed "_m<m>" with several
// members). FailedPrecondition when fewer than two scans were embedded.
absl::StatusOr<RoundOutcome> CloseAiSeverityPca(const AiSeveritySpec& spec,
                                                const protocol::TensorSet& input,
                                                const std::vector<ResultRecord>& results);

// A Newton round: each member not yet converged takes one step (its new "beta" in the
// checkpoint; its fit, coefficients included, in result_json once converged); "next" is
// "evaluate" when every member has converged. Errors of the Newton coordinator (separation,
// no convergence within max_newton) end the study.
absl::StatusOr<RoundOutcome> CloseAiSeverityNewton(const AiSeveritySpec& spec,
                                                   const protocol::TensorSet& input,
                                                   const std::vector<ResultRecord>& results,
                                                   const std::vector<RoundRecord>& history);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_AI_SEVERITY_ROUNDS_H_
