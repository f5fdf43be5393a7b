// Images and text a radiologist can read: one axial slice of the CT in the lung window with the
// lesion classes as semi-transparent colours and the lung contours, and a per-lung summary.
//
// Rendering: the grey value is WindowByte(HU, window) (preprocessing.h); a lesion voxel blends
// its class colour over it with `alpha` (GGO yellow, crazy paving orange, consolidation red);
// a lung voxel with a 4-neighbour outside its lung (or at the slice border) is painted with its
// lung's contour colour (right green, left blue). Image row 0 is the slice's row 0 (anterior in
// a standard axial series) and image column 0 its column 0 (the patient's right in LPS), so the
// picture has the radiological orientation. Pixels are not resampled: anisotropic pixels show
// stretched.
#ifndef SCANCOV_MODELS_CT_OVERLAY_H_
#define SCANCOV_MODELS_CT_OVERLAY_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/volume.h"
#include "models/ct/hu_intervals.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/png.h"
#include "models/ct/preprocessing.h"

namespace scancov::ct {

using Rgb = std::array<uint8_t, 3>;

struct OverlayOptions {
  HuWindow window = LungWindow();
  double alpha = 0.45;
  bool contours = true;
  Rgb ggo{255, 220, 0};
  Rgb crazy_paving{255, 128, 0};
  Rgb consolidation{220, 20, 20};
  Rgb right_contour{0, 200, 0};
  Rgb left_contour{0, 150, 255};
};

// Renders slice `slice` of `hu`; `lungs` (0/1/2) and `lesions` (0-4) may be null, otherwise on
// the grid of `hu`. Fails on a slice out of range or a grid mismatch.
absl::StatusOr<RgbImage> RenderOverlay(const HuVolume& hu, const LabelVolume* lungs,
                                       const LabelVolume* lesions, int slice,
                                       const OverlayOptions& options = {});

// The slice with the most lesion voxels (labels 2-4); the middle slice when there is none.
int MostAffectedSlice(const LabelVolume& lesions);

// A stacked bar per lung (right, left, both; healthy grey, then GGO, crazy paving and
// consolidation in the overlay colours), each bar's height being 100% of that lung.
RgbImage RenderSummaryChart(const LesionQuantification& q, const OverlayOptions& options = {});

// A plain-text table: per lung, volume, percentages per lesion class, extent and its 0-5 score,
// the normalised markers, and, when given, the HU-interval percentages and the calcium volume.
std::string SummaryText(const LesionQuantification& q, const HuIntervalQuantification* hu,
                        const double* calcium_mm3);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_OVERLAY_H_
