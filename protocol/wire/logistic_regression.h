// The logistic_regression kind on the wire: an exact federated logistic regression by Newton
// steps, then the terciles of the fitted model's training probabilities from counts. Defined and
// checked once here, read by the node (node/tasks/logistic_regression_task.cc,
// federated_logistic.h), the aggregator (aggregator/studies/logistic_regression_study.cc,
// tercile_rounds.h) and the coordinator (logistic_regression_report.cc, validation_plan.h,
// cut_points.h).
//
// Spec (StudySpec.spec_json):
//   {"analysis": "logistic_regression", "outcome": "severe",
//    "features": [...],                        // protocol/wire/tabular_features.h
//    "l2": 0.0, "max_iterations": 30, "tolerance": 1e-10, "terciles": true,
//    "split": "train", "split_seed": 7, "holdout_fraction": 0.19,   // protocol/wire/row_split.h
//    "min_cell_count": 10}                     // may tighten the site's minimum, never loosen it
//
// Checkpoint (the round's input; none in round 0, where beta = 0): one float64 tensor "beta"
// [1 + features] (intercept first); in a terciles round also "tercile_candidates" [K], finite
// linear predictors, 1 <= K <= kMaxTercileCandidates.
//
// A site's answer (UploadHeader.result_json):
//   Newton round:   {"analysis": "logistic_regression", "status": "ok", "split": "train",
//                    "n_complete": 612, "n_incomplete": 41, "summary": {LogisticSiteSummary}}
//   terciles round: {..., "status": "ok", "phase": "terciles", "n_rows": 612,
//                    "tercile_counts": [c1, ...]}     // rows with x'beta <= each candidate
//   refusal:        {"analysis": ..., "status": "refused", "reason": "...",
//                    "split": .., "n_complete": .., "n_incomplete": ..}  // counts when read
//   under secure aggregation (below): {"analysis": ..., "status": "ok", "secure_sum": true,
//                    "split": "train"[, "phase": "terciles"]}, the numbers travel masked
// (models/stats/summary_json.h for the summary's fields.)
//
// The combined result of a round (RoundStatus.result_json):
//   Newton round:   {"analysis": ..., "pooled_summary": {...}, "sites": 3,
//                    "refused": [{"site": "tiny", "reason": "..."}], "fit": {...}}  // at
//                    convergence
//   terciles round: {"analysis": ..., "phase": "terciles", "tercile_candidates": [...],
//                    "tercile_pooled_counts": [...], "sites": 3, "refused": [...], "fit": {...}}
//   fit: {"converged": true, "iterations": 6, "n": 1180, "events": 301, "log_likelihood": ..,
//         "l2": 0, "coefficients": [{"term": "(intercept)", "beta", "se", "z", "p", "or",
//                                    "ci_lower", "ci_upper"}, ...],
//         then from the terciles rounds "terciles_rounds", "terciles_tolerance_logit" and either
//         "terciles": [t1, t2] with "five_level_cuts": [4 cuts] or "terciles_error": "..."}
// JSON has no NaN: an undefined statistic travels as null.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_LOGISTIC_REGRESSION_H_
#define SCANCOV_PROTOCOL_WIRE_LOGISTIC_REGRESSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/stats/logistic_model.h"
#include "protocol/tensor_set.h"
#include "protocol/wire/row_split.h"
#include "protocol/wire/tabular_features.h"

namespace scancov::wire {

inline constexpr char kLogisticBeta[] = "beta";
inline constexpr char kTercileCandidates[] = "tercile_candidates";
inline constexpr char kInterceptTerm[] = "(intercept)";
// The most candidates a site answers in one terciles round (the study asks at most 4 x 33).
inline constexpr size_t kMaxTercileCandidates = 256;
// The most terciles rounds a study asks for and a node answers per study
// (node/tasks/tercile_budget.h): a search that needs more ends with a "terciles_error".
inline constexpr int kMaxTercileRounds = 8;
// The most rows one site may report: far above any hospital, and low enough that the pooled
// counts of any number of sites a study can hold cannot overflow int64.
inline constexpr int64_t kMaxLogisticSiteRows = int64_t{1} << 40;

struct LogisticSpec {
  std::string outcome;
  std::vector<FeatureSpec> features;
  double l2 = 0.0;
  int max_iterations = 30;
  double tolerance = 1e-10;
  bool terciles = true;  // the terciles phase after convergence
  RowSplit split;
  int min_cell_count = 0;
};

// InvalidArgument naming the field: not an object, another analysis, no outcome, malformed
// features, l2 not a finite number >= 0, max_iterations outside 1..1000, tolerance not in
// (0, 1), terciles not a boolean, a malformed split, min_cell_count outside 0..1000000.
absl::StatusOr<LogisticSpec> ParseLogisticSpec(const std::string& spec_json);
std::string ToJson(const LogisticSpec& spec);
// The model's terms: kInterceptTerm, then the features' names.
std::vector<std::string> LogisticTerms(const LogisticSpec& spec);
// The Newton options the spec asks for.
stats::LogisticOptions LogisticOptionsOf(const LogisticSpec& spec);

// A round's checkpoint.
struct LogisticCheckpoint {
  std::vector<double> beta;                // empty: round 0 (beta = 0)
  std::vector<double> tercile_candidates;  // not empty: a terciles round
  bool IsTercileRound() const { return !tercile_candidates.empty(); }
};
protocol::TensorSet ToTensors(const LogisticCheckpoint& checkpoint);
// `checkpoint` null: round 0. InvalidArgument "checkpoint: ..." for a checkpoint without "beta",
// a beta that is not float64 [num_coefficients], candidates that are not float64 [K] with
// 1 <= K <= kMaxTercileCandidates, a value that is not finite, another tensor.
absl::StatusOr<LogisticCheckpoint> ParseLogisticCheckpoint(const protocol::TensorSet* checkpoint,
                                                           size_t num_coefficients);

struct LogisticSiteAnswer {
  bool refused = false;
  bool secure_sum = false;  // the numbers travel masked (LogisticSumVector); only split is set
  std::string reason;       // refused
  // The rows the site read: its part of the split and its complete and incomplete cases;
  // split empty when it refused before reading any (a variable it keeps back).
  std::string split;
  int64_t n_complete = 0, n_incomplete = 0;
  bool terciles = false;               // a terciles round's answer
  stats::LogisticSiteSummary summary;  // a Newton round's
  int64_t n_rows = 0;                  // a terciles round's
  std::vector<int64_t> tercile_counts;
};
std::string ToJson(const LogisticSiteAnswer& answer);
// InvalidArgument "result_json: ..." naming the field: a status other than ok or refused, a
// reason that is not a string, a split that is not all, train or holdout, counts out of range;
// for an ok answer, a summary whose sizes disagree (gradient p, information p x p), a value
// that is not finite, log_likelihood > 0, counts out of range; tercile counts that are not
// non-decreasing integers in 0..n_rows, n_rows outside 0..kMaxLogisticSiteRows.
absl::StatusOr<LogisticSiteAnswer> ParseLogisticSiteAnswer(const std::string& json);
// An ok answer checked against the round's checkpoint: a Newton round's summary evaluated at
// the checkpoint's beta (zeros in round 0) with num_coefficients coefficients; a terciles
// round's answer with one count per candidate. InvalidArgument otherwise.
absl::Status CheckLogisticAnswer(const LogisticSiteAnswer& answer, const LogisticCheckpoint& asked,
                                 size_t num_coefficients);

// Secure aggregation of the study (privacy/secagg, StudySpec.privacy_json
// "secure_aggregation"; protocol/wire/secure_sum.h): every number of an ok answer is a sum over
// the site's rows, so the aggregator needs only their sum over sites. A site uploads them as one
// masked vector and, in clear, only its answer's shape (ClearPart). The vector, in this order:
//   Newton round:   gradient [p], information [p x p], log_likelihood, weight_sum,
//                   num_observations, num_events, num_perfectly_fitted, n_complete, n_incomplete
//   terciles round: tercile_counts [K], n_rows, n_complete, n_incomplete
// A refusal carries no sums: it is sent in clear, as without secure aggregation, and the site is
// left out of the sum. The aggregator's unmasked sum is exact to the study's fixed-point
// resolution (2^-fractional_bits per site and value; counts are exact): the Newton steps need it
// finer than the tolerance, so such a study asks for fractional_bits >= 32.
size_t LogisticSumLength(const LogisticCheckpoint& asked, size_t num_coefficients);
// The vector of an ok answer that passes CheckLogisticAnswer; InvalidArgument otherwise.
absl::StatusOr<std::vector<double>> LogisticSumVector(const LogisticSiteAnswer& answer,
                                                      const LogisticCheckpoint& asked,
                                                      size_t num_coefficients);
// What of `answer` is sent in clear with its masked vector.
LogisticSiteAnswer ClearPart(const LogisticSiteAnswer& answer);
// The pooled answer (the sum of the sites' answers) from the sum of their vectors: counts
// rounded to integers, beta the round's. InvalidArgument "secure sum: ..." for a sum of another
// length, a count that is not within 1e-3 of a non-negative integer (the sites' vectors
// disagree with the round), or a summary CheckLogisticAnswer would refuse.
absl::StatusOr<LogisticSiteAnswer> LogisticAnswerFromSum(const std::vector<double>& sum,
                                                         const LogisticCheckpoint& asked,
                                                         size_t num_coefficients);

struct LogisticTerm {
  std::string term;
  double beta = 0, se = 0, z = 0, p = 1, odds_ratio = 1, ci_lower = 0, ci_upper = 0;
};

struct LogisticModelFit {
  bool converged = true;
  int iterations = 0;
  int64_t n = 0, events = 0;
  double log_likelihood = 0, l2 = 0;
  std::vector<LogisticTerm> coefficients;  // kInterceptTerm first
  // The terciles phase, once it ended (none with "terciles": false).
  std::optional<int> terciles_rounds;
  std::optional<double> terciles_tolerance_logit;
  std::vector<double> terciles;         // [t1, t2]: low | medium | high probabilities
  std::vector<double> five_level_cuts;  // the 1-5 scale's 4 cuts, with the terciles
  std::string terciles_error;           // why there are none

  std::vector<double> Beta() const;  // the coefficients, intercept first
};

struct LogisticRefusal {
  std::string site, reason;
};

struct LogisticRoundResult {
  bool terciles = false;                       // a terciles round ("phase": "terciles")
  stats::LogisticSiteSummary pooled_summary;   // a Newton round's, at its beta
  std::vector<double> tercile_candidates;      // a terciles round's
  std::vector<int64_t> tercile_pooled_counts;  // one per candidate
  int sites = 0;                               // sites that took part
  std::vector<LogisticRefusal> refused;
  std::optional<LogisticModelFit> fit;  // from convergence on
};
std::string ToJson(const LogisticRoundResult& result);
// InvalidArgument "logistic result: ..." for a result that is not one of the shapes above
// (a Newton round without pooled summary, a terciles round whose counts and candidates differ
// in number, a fit without its coefficients, terciles not 0 < t1 < t2 < 1, ...).
absl::StatusOr<LogisticRoundResult> ParseLogisticRoundResult(const std::string& json);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_LOGISTIC_REGRESSION_H_
