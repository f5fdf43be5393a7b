// SegNetConfig: the shape of the segmentation networks (`unet2d`, `unet25d`, `unet3d`), as a
// struct and as the JSON object that travels in a training task, e.g.
//   unet2d:  {"base_channels": 32, "depth": 5}
//   unet25d: {"context_slices": 1, "num_classes": 5}
//   unet3d:  {"patch": [32, 128, 128], "tile_overlap": 0.25, "residual": true}
// An empty string or "{}" selects the model's defaults (small, so that CPU tests are fast; the
// seed's sizes are set through the config).
//
// Which labels each model predicts (the class index is the label value):
//   unet2d   lungs: 0 background, 1 right lung, 2 left lung (sites::LungLabel).
//   unet25d  lesions: 0 outside the lungs, 1 healthy lung, 2 GGO, 3 crazy paving,
//   unet3d   4 consolidation (sites::LesionLabel).
// The lesion nets keep the "outside the lungs" class (5 classes, not 4 lesion classes with a
// mask): the network is then self-contained, trains on the generator's lesion labels as they
// are, and ArgmaxLabels (seg_probabilities.h) applies the lung mask of unet2d afterwards as the
// seed does. A site that only annotates inside the lungs marks the rest 255 (unlabelled).
//
// Input normalisation belongs to the weights, so it is part of the config:
//   "seed"        (default) (HU + 1024) clipped at 0, divided by 1000 (the seed's AI-segment).
//   "lung_window" the lung window W 1500 / L -550: HU clipped to [-1300, 200], mapped to [0, 1].
//
// LibTorch-free. A plain value type: copyable, movable, not synchronised.
#ifndef SCANCOV_MODELS_NN_SEG_CONFIG_H_
#define SCANCOV_MODELS_NN_SEG_CONFIG_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::nn {

enum class SegNetKind { kUnet2d, kUnet25d, kUnet3d };
enum class HuNormalization { kSeed, kLungWindow };

struct SegNetConfig {
  SegNetKind kind = SegNetKind::kUnet2d;
  // unet25d: the input is 2k+1 adjacent slices (k = context_slices >= 1) as channels, the label
  // that of the middle one. 0 for unet2d and unet3d (one input channel).
  int64_t context_slices = 0;
  int64_t num_classes = 3;    // >= 2; labels must be < num_classes (or 255, unlabelled)
  int64_t base_channels = 8;  // channels of the first level, doubled at each level, 1..256
  int64_t depth = 3;          // resolution levels, 1..6 (depth - 1 poolings by 2)
  bool batch_norm = true;     // BatchNorm after each convolution (else biased convolutions)
  bool residual = false;      // ResNet-style blocks (identity or 1x1 projection shortcut)
  HuNormalization normalization = HuNormalization::kSeed;
  // A left-right flip during augmentation swaps labels 1 and 2 (unet2d: right/left lungs keep
  // being named by where they lie in the image). False: flips keep the labels.
  bool lateral_labels = false;
  // unet3d: training patch and inference tile, (z, y, x) voxels, each 1..1024.
  std::array<int64_t, 3> patch{32, 128, 128};
  // unet3d: fraction of a tile shared with its neighbour when tiling a volume, in [0, 0.9].
  double tile_overlap = 0.25;

  int64_t in_channels() const { return 2 * context_slices + 1; }
  bool is_3d() const { return kind == SegNetKind::kUnet3d; }
};

// The kind of a segmentation model name; NotFound for any other name.
absl::StatusOr<SegNetKind> SegNetKindFromName(absl::string_view model);
absl::string_view SegNetKindName(SegNetKind kind);

// The defaults of each kind: unet2d {classes 3, lateral_labels}, unet25d {context 1, classes
// 5}, unet3d {classes 5, residual, patch 32x128x128}; all base_channels 8, depth 3.
SegNetConfig DefaultSegNetConfig(SegNetKind kind);

// OK if every field is in range and fits the kind (context_slices only for unet25d, patch and
// tile_overlap only matter for unet3d).
absl::Status ValidateSegNetConfig(const SegNetConfig& config);

// Parses the JSON object (keys as the fields above; "normalization" is "seed" or
// "lung_window"; "patch" is [z, y, x]) over the defaults of `model`. Unknown keys, keys that do
// not apply to the kind, wrong types and out-of-range values are refused (InvalidArgument).
absl::StatusOr<SegNetConfig> ParseSegNetConfig(absl::string_view model, absl::string_view json);

// The JSON object ParseSegNetConfig reads back to the same config (for the config's kind).
std::string SegNetConfigToJson(const SegNetConfig& config);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEG_CONFIG_H_
