// Learned lung and lesion maps for bedside scoring, from models/nn checkpoint files, through
// the LibTorch-free models/nn/segmentation.h (the seed's AI-segment: a 2D U-Net for the lungs;
// 2.5D and 3D lesion nets whose probabilities are averaged, argmax inside the lung mask).
//
// Grid: with in_plane > 0 (given, or recorded in the checkpoints) the CT is fitted to in_plane x
// in_plane slices as the segmentation study trained (models/ct FitInPlaneHu: equal in-plane spacing
// from the field of view, centre crop/pad), and the predicted labels are mapped back to the series
// grid by nearest neighbour (NativeLabels). With in_plane == 0 the networks run on the series grid
// as it is.
//
// Checkpoints are checked before use: the lung model must be "unet2d" with 3 classes, lesion
// models "unet25d" or "unet3d" with 5 classes (models/nn/seg_config.h); errors name the file.
// In a build without LibTorch (SCANCOV_WITH_TORCH=OFF) every prediction fails with
// Unimplemented and LearnedSegmentationAvailable() is false.
//
// Thread safety: as models/nn/segmentation.h (callable from any thread).
#ifndef SCANCOV_NODE_BEDSIDE_LEARNED_SEGMENTATION_H_
#define SCANCOV_NODE_BEDSIDE_LEARNED_SEGMENTATION_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::node {

struct LearnedOptions {
  // Slice size the models run at: < 0 the one recorded in the checkpoints (which must agree),
  // 0 the series grid as it is, > 0 that size.
  int in_plane = -1;
  std::string device = "auto";
  // The networks' arithmetic: "auto" (bfloat16 where the device computes it natively), "fp32"
  // or "bf16" (models/nn/precision.h).
  std::string precision = "auto";
  int threads = 0;
};

bool LearnedSegmentationAvailable();

// "fp32" or "bf16": what options.precision stands for on options.device. InvalidArgument for a
// precision other than auto, fp32 or bf16; Unimplemented without LibTorch.
absl::StatusOr<std::string> LearnedPrecision(const LearnedOptions& options);

// Lung labels (0 background, 1 right, 2 left) on the grid of `hu`.
absl::StatusOr<LabelVolume> PredictLungLabels(const std::string& checkpoint, const HuVolume& hu,
                                              const LearnedOptions& options);

// Lesion labels (0 outside the lungs, 1 healthy, 2 GGO, 3 crazy paving, 4 consolidation) on the
// grid of `hu`: the ensemble mean of the models' probabilities, argmax inside `lungs`.
absl::StatusOr<LabelVolume> PredictLesionLabels(const std::vector<std::string>& checkpoints,
                                                const HuVolume& hu, const LabelVolume& lungs,
                                                const LearnedOptions& options);

// Labels predicted on FitInPlane(`size`) of a grid (nx, ny, spacing) mapped back to that grid by
// nearest neighbour; voxels that fell outside the fitted crop get 0. LibTorch-free.
LabelVolume NativeLabels(const LabelVolume& fitted, int nx, int ny,
                         const std::array<double, 3>& spacing);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_LEARNED_SEGMENTATION_H_
