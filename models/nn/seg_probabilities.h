// SegProbabilities: per-class probability volumes of a segmentation network, and what is done
// with them afterwards: averaging an ensemble (the seed averages its 2.5D and 3D lesion nets)
// and taking the argmax with the lung mask applied.
//
// LibTorch-free (the bedside code and tests use it without the networks). Plain value types;
// the functions are pure and thread-safe.
#ifndef SCANCOV_MODELS_NN_SEG_PROBABILITIES_H_
#define SCANCOV_MODELS_NN_SEG_PROBABILITIES_H_

#include <array>
#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::nn {

// Probabilities in (class, slice, row, column) order on the grid of the CT they came from:
// value (c, k, j, i) = values[((c * nz + k) * ny + j) * nx + i]. For every voxel the values
// over the classes sum to 1 (up to float rounding).
struct SegProbabilities {
  int num_classes = 0;
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm: column, row, slice (as Volume)
  std::vector<float> values;

  size_t VoxelCount() const { return static_cast<size_t>(nx) * ny * nz; }
  size_t Index(int c, int k, int j, int i) const {
    return ((static_cast<size_t>(c) * nz + k) * ny + j) * nx + i;
  }
  float at(int c, int k, int j, int i) const { return values[Index(c, k, j, i)]; }
  // Same number of classes and the same grid as `other`.
  bool SameLayout(const SegProbabilities& other) const {
    return num_classes == other.num_classes && nx == other.nx && ny == other.ny && nz == other.nz &&
           spacing == other.spacing;
  }
};

// The voxel-wise mean of `members` (e.g. the 2.5D and the 3D lesion nets). InvalidArgument if
// the list is empty, a member is inconsistent (values.size() != classes x voxels), or the
// members differ in classes or grid.
absl::StatusOr<SegProbabilities> EnsembleAverage(const std::vector<SegProbabilities>& members);

// The most probable class of each voxel (ties go to the lower class), as a label volume on the
// same grid. With a lung mask (same grid; non-zero = lung, e.g. unet2d's labels 1 and 2), as in
// the seed: voxels outside the mask are set to 0, and inside it the argmax is taken over the
// classes >= 1 only, so that every lung voxel gets a tissue class (healthy, GGO, ...). Refuses
// (InvalidArgument) an inconsistent input, a mask on another grid, and more than 255 classes.
absl::StatusOr<LabelVolume> ArgmaxLabels(const SegProbabilities& probabilities,
                                         const LabelVolume* lung_mask = nullptr);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEG_PROBABILITIES_H_
