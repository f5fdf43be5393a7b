// The model_selection kind's round request on the wire (protocol/wire/model_selection.h): the
// SelectionDriver's request (models/scores/selection_driver.h) as the round's checkpoint, a
// TensorSet, so it travels and is stored like any other checkpoint.
//
// Checkpoint tensors (no checkpoint: the sums request):
//   "phase"         int64 [1]            2 = squares, 3 = fits
//   "part_means"    float64 [P, k]       P = folds + 1 parts, k = len(variables)
//   "part_scales"   float64 [P, k]       fits only
//   "model_part"    int64 [M]            fits only: the part of each model
//   "model_columns" int64 [M, C]         column indices, padded with -1 (C = the widest model)
//   "model_beta"    float64 [M, C + 1]   intercept first, padded with 0
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_REQUEST_H_
#define SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_REQUEST_H_

#include <string>

#include "absl/status/statusor.h"
#include "models/scores/selection_driver.h"
#include "protocol/tensor_set.h"

namespace scancov::wire {

inline constexpr size_t kMaxSelectionVariables = 64;
inline constexpr size_t kMaxSelectionModelsPerBatch = 4096;

// The shape of every request and answer of a study: folds + 1 parts (the training part of each
// fold, then all rows), one column per variable.
struct SelectionShape {
  int parts = 0;
  int width = 0;
};

protocol::TensorSet RequestToTensors(const scores::SelectionRequest& request);
// `checkpoint` null: the sums request. InvalidArgument for a checkpoint that does not fit
// `shape` (names, dtypes and shapes as above, at most kMaxSelectionModelsPerBatch models, parts
// and columns in range, finite values, scales >= 0), checked before anything is allocated from
// its shapes.
absl::StatusOr<scores::SelectionRequest> RequestFromTensors(const protocol::TensorSet* checkpoint,
                                                            const SelectionShape& shape);

// "sums", "squares" or "fits".
std::string KindName(scores::SelectionRequest::Kind kind);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_MODEL_SELECTION_REQUEST_H_
