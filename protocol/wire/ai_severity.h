// The ai_severity kind on the wire: the study's spec, its checkpoint layout, the sites' PCA and
// Newton answers, the metrics of its evaluation, and each round's result, defined and checked
// once here and read by the node (node/tasks/severity_runner.cc), the aggregator
// (aggregator/studies/ai_severity_study.cc, ai_severity_rounds.cc) and the coordinator
// (ai_severity_report.cc, validation_plan.cc). The study's phases: ai_severity_study.cc.
//
// Spec (StudySpec.spec_json):
//   {"task": "ai_severity", "outcome": "severe",
//    "encoders": [{...slice encoder config A...}, {...config B...}],   // 1..8 distinct objects,
//    "pca_components": 40, "l2": 1.0, "max_newton": 30,               // or "encoder": {...}, or
//    "validation_fraction": 0.25, "min_cell_count": 10}               // neither (one default)
// The encoder configs are read by models/nn on the node; here they are JSON objects only.
//
// Checkpoint: member m's tensors are "m<m>/<name>": its encoder's parameters and buffers, then
// the head once the PCA round closed: "m<m>/pca.mean" float64 [d], "m<m>/pca.components" float64
// [k, d], "m<m>/pca.scale" float64 [k] and "m<m>/beta" float64 [k + 1] (intercept first).
//
// A site's ANALYZE answer (UploadHeader.result_json), one entry per member:
//   PCA:     {"status": "ok", "phase": "pca", "members": [{"n": N, "sum": [d], "cross": [d*d]}]}
//   Newton:  {"status": "ok", "phase": "newton",
//             "members": [{"summary": stats::LogisticSiteSummary at the checkpoint's beta}]}
//   refused: {"status": "refused", "reason": "..."}  (below the site's minimum counts)
// A site whose training part is too small for a d x d second-moment matrix (fewer than d x the
// minimum count patients) fails the ANALYZE task instead (node/tasks/severity_runner.h).
// Its TRAIN and EVALUATE answers are metrics only (the names below).
//
// A round's result (RoundStatus.result_json): AiSeverityRound.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_AI_SEVERITY_H_
#define SCANCOV_PROTOCOL_WIRE_AI_SEVERITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/stats/federated_pca.h"
#include "models/stats/logistic_model.h"
#include "protocol/tensor_set.h"

namespace scancov::wire {

inline constexpr int kMaxAiSeverityMembers = 8;
inline constexpr int kMaxAiSeverityEmbedding = 2048;  // d, the embedding's length

struct AiSeveritySpec {
  std::string outcome;
  // Each member's slice-encoder config as JSON text; "" is the default config (neither
  // "encoder" nor "encoders" given). The text is the node's cache key for the member's slices.
  std::vector<std::string> encoders{""};
  bool encoders_listed = false;  // given as "encoders" (else "encoder" or neither)
  int pca_components = 40;
  stats::LogisticOptions logistic;  // l2_penalty ("l2", default 1) and max_iterations
                                    // ("max_newton", default 30)
  double validation_fraction = 0.25;
  int min_cell_count = 0;

  int members() const { return static_cast<int>(encoders.size()); }
};

// InvalidArgument naming the field: another task, no outcome, "encoder" and "encoders"
// together, "encoder" not an object, "encoders" not a list of 1..kMaxAiSeverityMembers objects
// or two of them identical, pca_components outside 1..512, l2 outside [0, 1e6], max_newton
// outside 1..1000, validation_fraction outside [0, 1], min_cell_count outside 0..100000.
absl::StatusOr<AiSeveritySpec> ParseAiSeveritySpec(const std::string& spec_json);
std::string ToJson(const AiSeveritySpec& spec);

// The checkpoint layout.
inline constexpr char kAiSeverityPcaMean[] = "pca.mean";
inline constexpr char kAiSeverityPcaComponents[] = "pca.components";
inline constexpr char kAiSeverityPcaScale[] = "pca.scale";
inline constexpr char kAiSeverityBeta[] = "beta";

// "m<m>/".
std::string AiSeverityMemberPrefix(int m);
// The member 0..members-1 whose prefix `tensor_name` has, or -1.
int AiSeverityMemberOf(const std::string& tensor_name, int members);
// Member m's tensors of `checkpoint`, the prefix removed.
protocol::TensorSet AiSeverityMemberTensors(const protocol::TensorSet& checkpoint, int m);
// Adds `member`'s tensors to `checkpoint` under member m's prefix.
absl::Status AddAiSeverityMemberTensors(const protocol::TensorSet& member, int m,
                                        protocol::TensorSet* checkpoint);
// A member's encoder: its tensors without the head (PCA and regression).
protocol::TensorSet AiSeverityEncoderTensors(const protocol::TensorSet& member);
// Whether the member's tensors hold the PCA head (the PCA round has closed).
bool HasAiSeverityHead(const protocol::TensorSet& member);

struct AiSeverityHead {
  stats::PcaProjection pca;  // explained_variance unused
  std::vector<double> beta;  // k + 1
};
// InvalidArgument naming the tensor: a head tensor missing, not float64, or of sizes that
// disagree (components k x d, mean d, scale k, beta k + 1).
absl::StatusOr<AiSeverityHead> ReadAiSeverityHead(const protocol::TensorSet& member);
// Member m's head tensors (prefixed), as the PCA round writes them.
std::vector<protocol::Tensor> AiSeverityHeadTensors(int m, const AiSeverityHead& head);
// Member m's "beta" alone, as a Newton round writes it.
protocol::Tensor AiSeverityBetaTensor(int m, const std::vector<double>& beta);

// Metrics; with several members, a member's own carry the suffix "_m<m>"
// (AiSeverityMemberMetric).
inline constexpr char kAiSeverityValAuc[] = "global.val_auc";  // ensemble, validation scans
inline constexpr char kAiSeverityNVal[] = "global.n_val";
inline constexpr char kAiSeverityNScored[] = "local.n_scored";  // probabilities kept at the site
// 1 when the site withheld its validation metrics: fewer events or non-events than the minimum
// count (summed over sites: how many withheld).
inline constexpr char kAiSeverityValWithheld[] = "local.n_val_withheld";
inline constexpr char kAiSeverityTrainLossStart[] = "local.train_loss_start";
inline constexpr char kAiSeverityTrainLossEnd[] = "local.train_loss_end";
inline constexpr char kAiSeverityExplainedVariance[] = "pca.explained_variance";
inline constexpr char kAiSeverityNScans[] = "pca.n_scans";
inline constexpr char kAiSeverityLogLikelihood[] = "log_likelihood";
std::string AiSeverityMemberMetric(const char* name, int m, int members);

// One member's PCA sums from one site.
struct AiSeverityPcaSums {
  int64_t n = 0;
  std::vector<double> sum;    // d
  std::vector<double> cross;  // d * d, row-major
};

struct AiSeverityAnswer {
  std::string status = "ok";  // ok | refused
  std::string reason;
  std::string phase;                               // ok: pca | newton
  std::vector<AiSeverityPcaSums> pca;              // phase pca: one per member
  std::vector<stats::LogisticSiteSummary> newton;  // phase newton: one per member
};

std::string ToJson(const AiSeverityAnswer& answer);
// InvalidArgument naming the member and the field: an unknown status or phase, not one entry
// per member (`members`), sums that are not finite or of sizes d and d * d (d up to
// kMaxAiSeverityEmbedding), n outside 0..2^40, a summary whose beta, gradient and information
// are not p, p and p * p finite numbers.
absl::StatusOr<AiSeverityAnswer> ParseAiSeverityAnswer(const std::string& json, int members);

// A member's sums as stats reads them.
stats::PcaSums ToPcaSums(const AiSeverityPcaSums& sums);

struct AiSeverityFit {
  int iterations = 0;
  int64_t n = 0, events = 0;
  double log_likelihood = 0;
  std::vector<double> coefficients;  // intercept first
};

struct AiSeverityNewtonMember {
  bool waiting = false;  // converged in an earlier round; its beta stays
  std::optional<stats::LogisticSiteSummary> pooled_summary;
  std::optional<AiSeverityFit> fit;  // set once the member has converged
};

struct AiSeverityPcaMember {
  int components = 0;
  double explained_variance = 0;
};

// A round's result: after the PCA round {"phase": "pca", "next": "newton", "members": [{
// "components", "explained_variance"}]}; after a Newton round {"phase": "newton", "next":
// "newton" | "evaluate", "members": [{"pooled_summary", "fit"} | {"waiting": true}]}; after the
// evaluation {"phase": "evaluate", "members": M}. The init and training rounds have none.
struct AiSeverityRound {
  std::string phase;  // pca | newton | evaluate
  std::string next;   // pca, newton: newton | evaluate
  std::vector<AiSeverityPcaMember> pca;
  std::vector<AiSeverityNewtonMember> newton;
  int members = 0;  // evaluate
};

std::string ToJson(const AiSeverityRound& round);
absl::StatusOr<AiSeverityRound> ParseAiSeverityRound(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_AI_SEVERITY_H_
