// Checkpoint files: a TensorSet (parameters and buffers, the federation's weight format) with the
// name and config of the model it belongs to, in one file that is verified on load.
//
// Layout (integers little-endian):
//   "SCVCKPT1"                     8-byte magic (the 1 is the format version)
//   u64 metadata length, metadata  a JSON object {"model": ..., "model_config_json": ...,
//                                  "in_plane": N (optional, absent in older files = 0)}
//   u64 manifest length, manifest  a serialized protocol v1::WeightsManifest (ManifestFor):
//                                  tensor names, shapes, dtypes, byte ranges, payload SHA-256
//   payload                        the tensors' bytes, manifest.total_bytes of them
//   32 bytes                       SHA-256 of everything before it
// The trailing digest covers the header, metadata and manifest; the manifest's digest covers
// the payload (checked by protocol::TensorSetFromPayload). A truncated, extended or altered
// file is refused with DataLoss.
//
// LibTorch-free, so that bedside scoring can read weights without the training code. The
// functions are thread-safe; SaveCheckpoint writes atomically (temp file + rename).
#ifndef SCANCOV_MODELS_NN_CHECKPOINT_H_
#define SCANCOV_MODELS_NN_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

struct Checkpoint {
  std::string model;              // registry name ("unet2d", ...); may be empty
  std::string model_config_json;  // the model's JSON config; may be empty
  protocol::TensorSet weights;
  // Segmentation models: the slice size the model was trained at (the study's spec_json
  // "in_plane": CT fitted to in_plane x in_plane slices, models/ct FitInPlaneHu); 0 when it
  // was trained on the series grid as it is, or unknown.
  int in_plane = 0;
};

// The file's bytes, and back. DecodeCheckpoint verifies both digests before building anything.
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
absl::StatusOr<Checkpoint> DecodeCheckpoint(absl::string_view bytes);

// Writes / reads a checkpoint file; errors name the path.
absl::Status SaveCheckpoint(const std::string& path, const Checkpoint& checkpoint);
absl::StatusOr<Checkpoint> LoadCheckpoint(const std::string& path);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_CHECKPOINT_H_
