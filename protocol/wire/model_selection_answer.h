// The model_selection kind's site answers on the wire (protocol/wire/model_selection.h): what a
// site returns for the round's request (model_selection_request.h), as result_json.
//
// A site's answer:
//   {"analysis": "model_selection", "status": "ok", "kind": "sums" | "squares" | "fits",
//    "moments": [{"rows": n, "observed": [...], "sums": [...]}, ...]     // sums, squares
//    "models": [{"summary": {LogisticSiteSummary}, "auc": a, "pairs": p}, ...],   // fits
//    "suppressed": ["crp", ...]}      // variables treated as missing at this site (names only)
//   {"analysis": "model_selection", "status": "refused", "reason": "..."}
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
  std::string reason;  // refused
  SelectionAggregates aggregates;
  std::vector<std::string> suppressed;
};
std::string ToJson(const SelectionSiteAnswer& answer);
// InvalidArgument "model selection: result_json: ..." for a status other than ok or refused, a
// refusal without a string reason, suppressed not a list of names, and AggregatesFromJson's.
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

nlohmann::json MomentsToJson(const std::vector<scores::PartMoments>& moments);
absl::StatusOr<std::vector<scores::PartMoments>> MomentsFromJson(const nlohmann::json& j);
nlohmann::json ModelResultsToJson(const std::vector<scores::ModelSiteResult>& results);
absl::StatusOr<std::vector<scores::ModelSiteResult>> ModelResultsFromJson(const nlohmann::json& j);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_ANSWER_H_
