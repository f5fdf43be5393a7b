// How the federated model selection (selection_driver.h, selection_site.h) crosses the wire: the
// round's request as the task's checkpoint (a TensorSet, so it travels and is stored like any
// other checkpoint) and the site's answer as result_json. The study's spec: selection_spec.h.
//
// Checkpoint tensors (no checkpoint: the sums request):
//   "phase"        int64 [1]            2 = squares, 3 = fits
//   "part_means"   float64 [P, k]       P = folds + 1 parts, k = len(variables)
//   "part_scales"  float64 [P, k]       fits only
//   "model_part"   int64 [M]            fits only: the part of each model
//   "model_columns" int64 [M, C]        column indices, padded with -1 (C = the widest model)
//   "model_beta"   float64 [M, C + 1]   intercept first, padded with 0
//
// Result JSON of a site: {"analysis": "model_selection", "status": "ok", "kind": "sums" |
//   "squares" | "fits", "moments": [{"rows": n, "observed": [...], "sums": [...]}, ...] or
//   "models": [{"summary": {LogisticSiteSummary}, "auc": a, "pairs": p}, ...]}, or
//   {"status": "refused", "reason": "..."}.
//
// Thread safety: pure functions.
#ifndef SCANCOV_MODELS_SCORES_SELECTION_WIRE_H_
#define SCANCOV_MODELS_SCORES_SELECTION_WIRE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/selection_driver.h"
#include "models/scores/selection_site.h"
#include "models/scores/selection_spec.h"
#include "nlohmann/json.hpp"
#include "protocol/tensor_set.h"

namespace scancov::scores {

// The shape of every request and answer of a study: folds + 1 parts (the training part of each
// fold, then all rows), one column per variable.
struct SelectionShape {
  int parts = 0;
  int width = 0;
};
SelectionShape ShapeOf(const SelectionSpec& spec);

protocol::TensorSet RequestToTensors(const SelectionRequest& request);
// `checkpoint` null: the sums request. InvalidArgument for a checkpoint that does not fit
// `shape` (names, dtypes and shapes as above, at most 4096 models, parts and columns in range,
// finite values, scales >= 0), checked before anything is allocated from its shapes.
absl::StatusOr<SelectionRequest> RequestFromTensors(const protocol::TensorSet* checkpoint,
                                                    const SelectionShape& shape);
// For the aggregator's upload check, which has no spec: the shape the round's checkpoint
// claims, or for the sums request (no checkpoint) the one the answer claims; InvalidArgument
// outside 3..11 parts and 1..64 variables. The round's close checks answers against the spec.
absl::StatusOr<SelectionShape> ClaimedShape(const protocol::TensorSet* checkpoint,
                                            const nlohmann::json& answer);

// Checks a site's "ok" answer to `request`: its kind, and every value CloseRound and the driver
// rely on (parts and widths, 0 <= observed <= rows, finite sums, squares >= 0; per model the
// coefficients asked, gradient and information lengths, finite values, consistent counts,
// auc in [0, 1], pairs a whole number >= 0 and 0 for the all-rows part). InvalidArgument
// naming the field ("models[3].auc not in [0, 1]").
absl::Status CheckAnswer(const nlohmann::json& answer, const SelectionRequest& request,
                         const SelectionShape& shape);

nlohmann::json MomentsToJson(const std::vector<PartMoments>& moments);
absl::StatusOr<std::vector<PartMoments>> MomentsFromJson(const nlohmann::json& j);
nlohmann::json ModelResultsToJson(const std::vector<ModelSiteResult>& results);
absl::StatusOr<std::vector<ModelSiteResult>> ModelResultsFromJson(const nlohmann::json& j);

// "sums", "squares" or "fits".
std::string KindName(SelectionRequest::Kind kind);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_SELECTION_WIRE_H_
