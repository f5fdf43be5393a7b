// Preprocessing of HU volumes for the lesion and severity models (LibTorch-free, so the learned
// models, the overlays and the quantification share one definition):
//   - windowing: HU clipped to [low, high] and mapped linearly to [0, 1];
//   - the released AI-segment normalisation: max(HU + 1024, 0) / 1000 (not clipped above);
//   - resampling to a target spacing: trilinear for HU, nearest neighbour for labels;
//   - masking outside the lungs (AI-severity: devices outside the lungs must not bias it).
//
// Grids: Volume<T> (core/volume.h), voxel (k, j, i) = (slice, row, column). Every output keeps
// the input's placement in patient coordinates (origin and directions moved with any crop or
// pad). Resampling keeps the centre of voxel (0, 0, 0) where it was (same origin) and takes
// n_out = floor((n_in - 1) * s_in / s_out + 1e-6) + 1 voxels per axis: every output centre lies
// inside the input's extent (no extrapolation), and the physical extent shrinks by less than
// one output voxel.
//
// All functions are pure; `threads` = 0 uses the hardware concurrency (work is split by slice).
#ifndef SCANCOV_MODELS_CT_PREPROCESSING_H_
#define SCANCOV_MODELS_CT_PREPROCESSING_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

using FloatVolume = Volume<float>;

// A display/intensity window: HU in [low, high] map to [0, 1], outside it clipped.
struct HuWindow {
  double low = -1000;
  double high = 1000;
  double width() const { return high - low; }
  double level() const { return 0.5 * (low + high); }
};

// A window from width and level (centre): [level - width / 2, level + width / 2].
HuWindow WindowFromWidthLevel(double width, double level);

// The seed's (AI-segment) lung window: W 1500 / L -550, i.e. [-1300, 200].
HuWindow LungWindow();
// AI-severity's single window (-1000, 600).
HuWindow SeverityWindow();
// AI-severity's three channels: (-1000, 0), (0, 1000), (-1000, 4000).
std::array<HuWindow, 3> SeverityChannelWindows();

// Window value of one HU in [0, 1].
float WindowValue(double hu, const HuWindow& window);
// Window value as a display byte 0..255 (rounded).
uint8_t WindowByte(double hu, const HuWindow& window);

// Applies `window` to every voxel. Fails on an empty volume or a window with high <= low.
absl::StatusOr<FloatVolume> ApplyWindow(const HuVolume& hu, const HuWindow& window,
                                        int threads = 0);
// One volume per window (e.g. SeverityChannelWindows()), in the order given.
absl::StatusOr<std::vector<FloatVolume>> ApplyWindows(const HuVolume& hu,
                                                      const std::vector<HuWindow>& windows,
                                                      int threads = 0);

// The released AI-segment input: max(HU + 1024, 0) / 1000 per voxel.
absl::StatusOr<FloatVolume> NormalizeAiSegment(const HuVolume& hu, int threads = 0);

// Output size along one axis for a resampling from `in_spacing` to `out_spacing` (see above).
int ResampledSize(int n_in, double in_spacing, double out_spacing);

// Trilinear resampling of HU to `spacing` (mm: column, row, slice), rounded to int16.
// Fails on an empty volume or a non-positive / non-finite spacing.
absl::StatusOr<HuVolume> ResampleHu(const HuVolume& hu, const std::array<double, 3>& spacing,
                                    int threads = 0);
// Nearest-neighbour resampling of a label map to `spacing`.
absl::StatusOr<LabelVolume> ResampleLabels(const LabelVolume& labels,
                                           const std::array<double, 3>& spacing, int threads = 0);

// A copy of `hu` with every voxel where mask == 0 set to `fill` (default: air, -1024).
// Fails when the grids differ.
absl::StatusOr<HuVolume> MaskOutside(const HuVolume& hu, const LabelVolume& mask,
                                     int16_t fill = -1024);

// Resamples in plane so that the field of view maps to `size` x `size` pixels of equal spacing
// (slices untouched), then centre-crops or pads (HU -1024, labels 0) to exactly size x size:
// the fixed slice size 2D / 2.5D networks need whatever the scanner's matrix and field of view.
absl::StatusOr<HuVolume> FitInPlaneHu(const HuVolume& hu, int size, int threads = 0);
absl::StatusOr<LabelVolume> FitInPlaneLabels(const LabelVolume& labels, int size, int threads = 0);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_PREPROCESSING_H_
