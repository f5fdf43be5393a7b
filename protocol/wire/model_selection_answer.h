// The model_selection kind's site answers on the wire (protocol/wire/model_selection.h): what a
// site returns for the round's request (model_selection_request.h), as result_json.
//
// A site's answer:
//   {"analysis": "model_selection", "status": "ok", "kind": "sums" | "squares" | "fits",
//    "moments": [{"rows": n, "observed": [...], "sums": [...]}, ...]     // sums, squares
//    "models": [{"summary": {LogisticSiteSummary}, "auc": a, "pairs": p}, ...],   // fits
//    "suppressed": ["crp", ...]}      // variables treated as missing at this site (names only)
//   {"analysis": "model_selection", "status": "refused", "reason": "..."}
// Under secure aggregation an ok answer's numbers travel masked (SelectionSumVector below) and
// only its clear part is sent as result_json:
//   {"analysis": "model_selection", "status": "ok", "secure_sum": true, "kind": "fits",
//    "suppressed": [...]}
// The pooled answers of a round (the sum over sites) have the same "kind" and "moments" or
// "models" (SelectionAggregates).
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_ANSWER_H_
#define SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_ANSWER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/selection_driver.h"
#include "models/scores/selection_site.h"
#include "nlohmann/json.hpp"
#include "protocol/tensor_set.h"
#include "protocol/wire/model_selection_request.h"

namespace scancov::wire {

struct SelectionSpec;  // model_selection.h

// The shape of `spec`'s requests and answers.
SelectionShape ShapeOf(const SelectionSpec& spec);

// The aggregates of one answer: a site's, or their sum over the sites.
struct SelectionAggregates {
  scores::SelectionRequest::Kind kind = scores::SelectionRequest::Kind::kSums;
  std::vector<scores::PartMoments> moments;     // sums, squares
  std::vector<scores::ModelSiteResult> models;  // fits
};
nlohmann::json AggregatesToJson(const SelectionAggregates& aggregates);
// InvalidArgument "model selection: result_json: ..." for an unknown kind, or moments or models
// that are missing or of the wrong types (counts must be integers). Ranges are CheckAnswer's.
absl::StatusOr<SelectionAggregates> AggregatesFromJson(const nlohmann::json& j);

struct SelectionSiteAnswer {
  bool refused = false;
  bool secure_sum = false;  // the numbers travel masked: aggregates has its kind only
  std::string reason;       // refused
  SelectionAggregates aggregates;
  std::vector<std::string> suppressed;
};
std::string ToJson(const SelectionSiteAnswer& answer);
// InvalidArgument "model selection: result_json: ..." for a status other than ok or refused, a
// refusal without a string reason, suppressed not a list of names, and AggregatesFromJson's;
// a secure_sum answer that carries moments or models in clear.
absl::StatusOr<SelectionSiteAnswer> ParseSelectionSiteAnswer(const std::string& json);

// Checks a site's "ok" answer to `request`: its kind, and every value CloseRound and the driver
// rely on (parts and widths, 0 <= observed <= rows, finite sums, squares >= 0; per model the
// coefficients asked, gradient and information lengths, finite values, consistent counts,
// auc in [0, 1], pairs a whole number >= 0 and 0 for the all-rows part). InvalidArgument
// naming the field ("models[3].auc not in [0, 1]").
absl::Status CheckAnswer(const SelectionAggregates& answer, const scores::SelectionRequest& request,
                         const SelectionShape& shape);
// The same for an answer as JSON (AggregatesFromJson first).
absl::Status CheckAnswer(const nlohmann::json& answer, const scores::SelectionRequest& request,
                         const SelectionShape& shape);

// Secure aggregation of the study (privacy/secagg, StudySpec.privacy_json
// "secure_aggregation"; protocol/wire/secure_sum.h). Every number of an ok answer is a sum over
// the site's rows but a fold's AUC, which is sent as AUC x pairs (a site's AUC weighted by its
// pairs; the pooled AUC is their sum over the pooled pairs, PoolModelResults' pair-weighted
// mean). The vector, in this order:
//   sums, squares: per part, rows, observed [k], sums [k]          (parts x (1 + 2k) values)
//   fits: per model (p its coefficients), gradient [p], information [p x p], log_likelihood,
//         weight_sum, num_observations, num_events, num_perfectly_fitted, auc x pairs, pairs
// In clear: the answer's kind and the variables the site treats as missing (names only).
uint64_t SelectionSumLength(const scores::SelectionRequest& request, const SelectionShape& shape);
// The vector of an ok answer that passes CheckAnswer; InvalidArgument otherwise.
absl::StatusOr<std::vector<double>> SelectionSumVector(const SelectionAggregates& answer,
                                                       const scores::SelectionRequest& request,
                                                       const SelectionShape& shape);
// What of `answer` is sent in clear with its masked vector.
SelectionSiteAnswer ClearPart(const SelectionSiteAnswer& answer);
// A clear part checked against the round: secure_sum, of the request's kind. InvalidArgument
// otherwise.
absl::Status CheckClearPart(const SelectionSiteAnswer& answer,
                            const scores::SelectionRequest& request);
// The pooled answer (what PoolMoments or PoolModelResults give for the sites' answers) from the
// sum of their vectors: counts rounded to integers, each model's coefficients the request's, a
// fold's AUC the sum of AUC x pairs over the pooled pairs (0.5 without pairs). InvalidArgument
// "secure sum: ..." for a sum of another length, a count that is not within 1e-3 of a
// non-negative integer, AUC x pairs outside [0, pairs], a negative diagonal of an information
// matrix, or a pooled answer CheckAnswer refuses (more events than rows, observed above rows,
// negative squares, a positive log-likelihood): no sites answering the round could have sent it.
absl::StatusOr<SelectionAggregates> SelectionAggregatesFromSum(
    const std::vector<double>& sum, const scores::SelectionRequest& request,
    const SelectionShape& shape);

nlohmann::json MomentsToJson(const std::vector<scores::PartMoments>& moments);
absl::StatusOr<std::vector<scores::PartMoments>> MomentsFromJson(const nlohmann::json& j);
nlohmann::json ModelResultsToJson(const std::vector<scores::ModelSiteResult>& results);
absl::StatusOr<std::vector<scores::ModelSiteResult>> ModelResultsFromJson(const nlohmann::json& j);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_ANSWER_H_
