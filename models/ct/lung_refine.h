// Refinement of one lung's air mask into the lung (step 6 of lung_mask.h): hole filling, a
// restricted 3-D closing and the filling of costal bays left by subpleural lesions.
//
// Costal bays, per slice: from the body's centre in that slice, the lung's pixels are binned by
// angle (bins about two pixels wide at the lung's outer radius); each bin keeps the lung's
// innermost and outermost radius, the mean HU of its two outermost pixels, and the radius of
// the first bone (HU >= bone_min_hu) beyond the lung within max_rim_mm (the ribs' inner
// surface), interpolated across intercostal gaps up to rib_max_gap_deg.
//   - Where the lung's edge in a bin (or within two bins) is denser than lesion_edge_hu (the
//     ground-glass / crazy-paving rim that surrounds a consolidation core; a healthy pleural
//     edge is -850 HU parenchyma), the expected costal radius is the rib surface minus
//     pleural_gap_mm (the pleura and endothoracic fascia: about 3 mm).
//   - Otherwise it is interpolated between the furthest-reaching lung bins within half of
//     costal_max_gap_deg on each side (a dent between aerated neighbours).
// Pixels of the bin between the lung's outer radius and the expected one are added when their
// HU is soft-tissue-like (costal_min_hu..max_fill_hu: fat and bone stop it) and the dent is
// deeper than costal_min_depth_mm. A bin without lung but with lung on both sides (a lesion
// spanning the whole lung there) is filled between interpolated inner and outer radii. Near the
// lung's anterior and posterior tips only one side has lung, so nothing is filled: the
// mediastinal side and the tips are left alone. Without lesion density at the edge the rib
// surface is not used, so a lung apex that narrows inside a wide rib cage is not inflated.
#ifndef SCANCOV_MODELS_CT_LUNG_REFINE_H_
#define SCANCOV_MODELS_CT_LUNG_REFINE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "core/volume.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {

struct RefineOptions {
  double closing_radius_mm = 10;
  int max_fill_hu = 250;
  bool fill_costal_bays = true;
  double costal_max_gap_deg = 70;
  int costal_min_hu = -200;
  double costal_min_depth_mm = 3;
  int bone_min_hu = 200;
  double rib_max_gap_deg = 180;
  double pleural_gap_mm = 3;
  double max_rim_mm = 45;
  int lesion_edge_hu = -720;
  int threads = 0;
};

// Per slice, the body's centre (column, row) in voxel indices of the full grid; {-1, -1} when
// the slice holds no body.
using SliceCentres = std::vector<std::array<double, 2>>;

// Refines the voxels labelled `lung_value` in `labels` within `box` (which must contain them
// with a margin of at least the closing radius). Voxels labelled otherwise (the other lung)
// are never added, nor voxels outside `body`. Returns the refined lung as 0 / 1 on the box.
LabelVolume RefineLung(const HuVolume& hu, const LabelVolume& body, const SliceCentres& centres,
                       const LabelVolume& labels, uint8_t lung_value, const Box& box,
                       const RefineOptions& options);

// The body's centre per slice (see SliceCentres).
SliceCentres BodyCentres(const LabelVolume& body);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_LUNG_REFINE_H_
