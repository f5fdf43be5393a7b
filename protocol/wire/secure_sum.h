// Secure aggregation of analyses (privacy/secagg; StudySpec.privacy_json "secure_aggregation"):
// the analysis kinds whose answers are sums over the site's rows, so that the aggregator needs
// only their sum over sites. A site of such a study uploads its answer's numbers as one masked
// vector (node/secagg_step.h), the float64 tensor kSecureSumTensor [length] masked into the ring
// as int64, and only the answer's shape in clear; the aggregator unmasks the sum of the vectors
// and its study logic closes the round from it (StudyLogic::CloseSecureRound).
//
// One entry per kind in secure_sum.cc (its vector's length, the resolution its analysis needs, the
// site's split of its answer); the kind's vector is defined in its own wire module
// (logistic_regression.h: LogisticSumVector; intercept_calibration.h: InterceptSumVector;
// model_selection_answer.h: SelectionSumVector). A kind not listed is refused secure aggregation
// at CreateStudy and by the nodes.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_SECURE_SUM_H_
#define SCANCOV_PROTOCOL_WIRE_SECURE_SUM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/study_kind.h"
#include "protocol/tensor_set.h"

namespace scancov::wire {

inline constexpr char kSecureSumTensor[] = "secure_sum";

// Whether `kind`'s answers can be securely aggregated.
bool SumsAnswers(protocol::StudyKind kind);
// The kinds listed, comma-separated, for messages ("logistic_regression, intercept_calibration").
std::string SummedKindNames();

// The length of a round's vector for a study of `kind` with `spec_json` whose round has
// `checkpoint` as input (null: none). InvalidArgument for a spec or checkpoint the kind
// refuses; Unimplemented for a kind that does not sum.
absl::StatusOr<uint64_t> SecureSumLength(protocol::StudyKind kind, const std::string& spec_json,
                                         const protocol::TensorSet* checkpoint);

// Whether the fixed point's resolution (2^-fractional_bits per value and site) is fine enough for
// the analysis: Newton steps (a logistic regression's, an intercept calibration's) stop at their
// tolerance, so the resolution must be at most half of it (35 bits for the default 1e-10; the
// intercept calibrator always uses its default; 28 for a model selection's fits, 1e-8).
// InvalidArgument saying the bits needed otherwise, or for a spec the kind refuses (for a model
// selection also one whose largest round's vector exceeds kMaxSelectionSumValues);
// Unimplemented for a kind that does not sum.
absl::Status CheckSecureSumResolution(protocol::StudyKind kind, const std::string& spec_json,
                                      int fractional_bits);

// The layout of a round's vector: kSecureSumTensor, float64 [length] (zeros).
protocol::TensorSet SecureSumLayout(uint64_t length);

// A count read back from a sum of the sites' vectors (for the kinds' wire modules): within 1e-3
// of a non-negative integer, since a count is exact in fixed point. InvalidArgument
// "secure sum: <name> is not a count" otherwise (the sites' vectors disagree with the round).
absl::StatusOr<int64_t> CountFromSum(double value, absl::string_view name);

// A site's answer split for secure aggregation.
struct SecureSumAnswer {
  bool refused = false;        // a refusal: sent in clear, as it is, with no vector
  std::string clear_json;      // what is sent in clear (the whole answer when refused)
  std::vector<double> values;  // SecureSumLength values; empty when refused
};
// The site's side, for the answer its gate released. InvalidArgument for an answer that does not
// parse or is not of the round; Unimplemented for a kind that does not sum.
absl::StatusOr<SecureSumAnswer> SplitForSecureSum(protocol::StudyKind kind,
                                                  const std::string& spec_json,
                                                  const protocol::TensorSet* checkpoint,
                                                  const std::string& answer_json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_SECURE_SUM_H_
