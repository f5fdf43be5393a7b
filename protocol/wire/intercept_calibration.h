// The intercept_calibration kind on the wire: a published model's intercept calibrated on the
// federation's data by exact federated Newton steps on one parameter, the rest of the linear
// predictor kept as published (models/scores/intercept_calibration.h). Defined and checked once
// here, read by the node (node/tasks/intercept_calibration_task.cc, intercept_calibration.h),
// the aggregator (aggregator/studies/intercept_calibration_study.cc) and the coordinator's report
// (aggregator/coordinator/intercept_calibration_report.cc).
//
// Spec (StudySpec.spec_json):
//   {"analysis": "intercept_calibration", "outcome": "severe", "model": "scancov_paper",
//    "split": ..., "split_seed": 7, "holdout_fraction": 0.19,   // protocol/wire/row_split.h
//    "min_cell_count": 10}
//
// Checkpoint (none in round 0: intercept 0): one float64 tensor "intercept" [1], finite.
//
// A site's answer (UploadHeader.result_json):
//   {"status": "ok", "summary": {"intercept": b, "score": U, "information": I,
//                                "log_likelihood": l, "n": 812, "events": 201}}
//   {"status": "refused", "reason": "..."}
//   under secure aggregation (below): {"status": "ok", "secure_sum": true}, the numbers travel
//   masked
//
// The combined result of a round (RoundStatus.result_json):
//   {"analysis": "intercept_calibration", "pooled_summary": {as a site's},
//    "refused": ["tiny", ...],                 // the sites that took no part
//    "fit": {"intercept": .., "se": .., "iterations": 4, "n": .., "events": ..,
//            "log_likelihood": ..}}           // at convergence
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_INTERCEPT_CALIBRATION_H_
#define SCANCOV_PROTOCOL_WIRE_INTERCEPT_CALIBRATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/intercept_calibration.h"
#include "protocol/tensor_set.h"
#include "protocol/wire/row_split.h"

namespace scancov::wire {

inline constexpr char kInterceptTensor[] = "intercept";
// The most patients one site may report (pooled counts of any number of sites stay far from
// overflowing int64).
inline constexpr int64_t kMaxInterceptSiteRows = int64_t{1} << 40;

struct InterceptSpec {
  std::string outcome;
  std::string model;  // a published model (models/scores/published_models.h), checked by nodes
  RowSplit split;
  int min_cell_count = 0;
};

// InvalidArgument naming the field: not an object, another analysis, no outcome, no model, a
// malformed split, min_cell_count outside 0..1000000.
absl::StatusOr<InterceptSpec> ParseInterceptSpec(const std::string& spec_json);
std::string ToJson(const InterceptSpec& spec);

// The round's candidate intercept as its checkpoint, and back (null: round 0, intercept 0).
// InvalidArgument "checkpoint: ..." unless the checkpoint is exactly a finite float64 [1]
// "intercept".
protocol::TensorSet InterceptToTensors(double intercept);
absl::StatusOr<double> ParseInterceptCheckpoint(const protocol::TensorSet* checkpoint);

struct InterceptSiteAnswer {
  bool refused = false;
  bool secure_sum = false;               // ok, its numbers masked (InterceptSumVector): no summary
  std::string reason;                    // refused
  scores::InterceptSiteSummary summary;  // ok, in clear
};
std::string ToJson(const InterceptSiteAnswer& answer);
// InvalidArgument "result_json: ..." naming the field: a status other than ok or refused, a
// reason that is not a string, an ok answer without a summary, a summary value that is not
// finite, information < 0, log_likelihood > 0, n outside 0..kMaxInterceptSiteRows, events
// outside 0..n; a secure_sum answer that carries a summary.
absl::StatusOr<InterceptSiteAnswer> ParseInterceptSiteAnswer(const std::string& json);

// Secure aggregation of the study (privacy/secagg, StudySpec.privacy_json "secure_aggregation";
// protocol/wire/secure_sum.h): every number of an ok answer is a sum over the site's patients
// (score, information, log-likelihood, counts), so the aggregator needs only their sum over
// sites. A site uploads them as one masked vector, in this order:
//   score, information, log_likelihood, n, events
// and, in clear, only the answer's shape (ClearPart); the candidate intercept is the round's. A
// refusal carries no sums: it is sent in clear and the site is left out of the sum. The unmasked
// sum is exact to the study's fixed-point resolution (2^-fractional_bits per site and value;
// counts are exact), so the Newton steps need it finer than the calibrator's tolerance.
inline constexpr size_t kInterceptSumLength = 5;
// The vector of an ok answer in clear evaluated at `asked` (the round's candidate intercept).
// InvalidArgument for a refusal, a masked answer or a summary at another intercept.
absl::StatusOr<std::vector<double>> InterceptSumVector(const InterceptSiteAnswer& answer,
                                                       double asked);
// What of `answer` is sent in clear with its masked vector.
InterceptSiteAnswer ClearPart(const InterceptSiteAnswer& answer);
// The pooled answer (the sum of the sites' answers) from the sum of their vectors, evaluated at
// `asked`: counts rounded to integers. InvalidArgument "secure sum: ..." for a sum of another
// length, a value that is not finite, a count that is not within 1e-3 of a non-negative integer,
// information < 0, log_likelihood > 0 or more events than patients (a sum no sites of the round
// could have sent).
absl::StatusOr<InterceptSiteAnswer> InterceptAnswerFromSum(const std::vector<double>& sum,
                                                           double asked);

struct InterceptRoundResult {
  scores::InterceptSiteSummary pooled_summary;
  std::vector<std::string> refused;  // site ids
  std::optional<scores::InterceptCalibration> fit;
};
std::string ToJson(const InterceptRoundResult& result);
// InvalidArgument "intercept result: ..." for a result without its pooled summary, a refused
// entry that is not a site id, a fit without its fields or with values that are not finite.
absl::StatusOr<InterceptRoundResult> ParseInterceptRoundResult(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_INTERCEPT_CALIBRATION_H_
