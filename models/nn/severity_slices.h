// AI-severity input: a chest CT with its lung mask turned into the lung-masked, windowed, fixed-
// size axial slices the slice encoder (severity_encoder.h) sees. LibTorch-free, so the node, the
// bedside command and the tests can prepare (and inspect) exactly what the network gets.
//
// Preprocessing, in this order (config: severity_config.h):
//   1. Checks: a non-empty CT, a lung mask on the same grid (sizes and spacing), at least one
//      lung voxel. Anything else is refused (InvalidArgument), never repaired.
//   2. Mask on the scan's own grid: every voxel outside the lungs (mask 0) becomes air
//      (-1000 HU), so that devices, tubes, table and body outside the lungs cannot bias the
//      model (the seed's reason). Done before any interpolation, so no value from outside the
//      lungs can leak into a lung voxel through resampling.
//   3. Through-plane: trilinear resampling to slice_spacing_mm (the seed's 10 mm; skipped when 0
//      or already there); the mask follows by nearest neighbour.
//   4. In plane: ct::FitInPlaneHu / FitInPlaneLabels to slice_size x slice_size pixels (the field
//      of view's longer side mapped to slice_size, the other centre-padded), then the mask is
//      applied again on this grid (interpolated border voxels outside the resampled mask back
//      to -1000; padding is air too). The result depends only on the HU inside the mask.
//   5. Slice selection: a slice is kept when its lung pixel count is >= min_lung_fraction x the
//      largest count of the scan (and >= 1): relative, so body size and field of view do not
//      decide which slices count. Apex and base slices with a sliver of lung are dropped.
//   6. Windowing (ct::ApplyWindows): "single" gives one channel, (-1000, 600) -> [0, 1];
//      "three" gives three channels (-1000, 0), (0, 1000), (-1000, 4000). Air is 0 in every
//      channel, so masked voxels are exactly 0.
//
// Thread safety: pure functions; `threads` = 0 uses the hardware concurrency (the result does
// not depend on it).
#ifndef SCANCOV_MODELS_NN_SEVERITY_SLICES_H_
#define SCANCOV_MODELS_NN_SEVERITY_SLICES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/volume.h"
#include "models/nn/severity_config.h"

namespace scancov::nn {

// One chest CT for AI-severity.
struct SeverityScan {
  HuVolume ct;
  LabelVolume lungs;  // same grid as ct; 0 outside the lungs, > 0 lung (any lung label)
  int label = -1;     // 1 severe, 0 not severe, -1 unknown (not used for training)
};

// The HU voxels outside the lungs take (air; 0 in every window).
inline constexpr int16_t kSeverityMaskHu = -1000;

struct SeveritySlices {
  int64_t channels = 0;  // 1 ("single") or 3 ("three")
  int64_t size = 0;      // slice_size: each slice is size x size pixels
  // Index of each kept slice on the through-plane-resampled grid, ascending, and its lung
  // pixel count.
  std::vector<int> slice_index;
  std::vector<int64_t> lung_pixels;
  // [count(), channels, size, size], row-major (slice, channel, row, column), in [0, 1].
  std::vector<float> values;

  int64_t count() const { return static_cast<int64_t>(slice_index.size()); }
  size_t SliceStride() const { return static_cast<size_t>(channels * size * size); }
};

// OK if `scan` can be prepared (step 1 above; the label is not looked at); InvalidArgument
// says why (sizes, never values).
absl::Status ValidateSeverityScan(const SeverityScan& scan);

// Steps 1-6. InvalidArgument for a bad scan or config, or when no slice keeps any lung after
// resampling (a mask too small for the slice grid).
absl::StatusOr<SeveritySlices> PrepareSeveritySlices(const SeverityScan& scan,
                                                     const SliceEncoderConfig& config,
                                                     int threads = 0);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEVERITY_SLICES_H_
