// Trachea and main bronchi, so they can be removed from the air inside the body before the lungs
// are taken as its large components (they join the two lungs and are not lung in the
// reference labellings: the seed's AI-segment, lungmask, TotalSegmentator).
//
// Method (explosion-controlled region growing, after Mori et al. and Kiraly et al.):
//   1. Seed: from the top slice down through the upper `seed_search_fraction` of the slices,
//      the 2-D components (4-connected) of air inside the body are tested for a trachea: area
//      in [seed_min_area_mm2, seed_max_area_mm2], roughly round (fills >= 50% of its bounding
//      box, aspect ratio <= 2), mean HU <= seed_max_mean_hu, centroid within the central
//      `seed_central_fraction` of the body's width. The first slice with a candidate gives the
//      seed (its largest candidate).
//   2. Growth: 6-connected region growing from the seed through voxels of HU < T, starting at
//      T = grow_start_hu. Leak guard: when the region exceeds max_volume_ml (it has leaked
//      into the parenchyma through a partial-volume wall), T is lowered by grow_step_hu and the
//      growth restarted, down to grow_min_hu; if it still leaks, no airway is returned (a note
//      says so) rather than half a lung.
//   3. The grown lumen is dilated by one voxel in-plane within the air mask, to take its
//      partial-volume rim.
// Lung parenchyma is about -850 HU and airway lumen -1000 HU, so T = -900..-990 separates them;
// the intrapulmonary bronchi that the growth reaches are inside the lung and are put back by
// the lung mask's hole filling.
#ifndef SCANCOV_MODELS_CT_AIRWAY_H_
#define SCANCOV_MODELS_CT_AIRWAY_H_

#include <string>

#include "core/volume.h"

namespace scancov::ct {

struct AirwayOptions {
  double seed_search_fraction = 0.4;
  double seed_min_area_mm2 = 40;
  double seed_max_area_mm2 = 800;
  double seed_max_mean_hu = -850;
  double seed_central_fraction = 0.3;
  int grow_start_hu = -900;
  int grow_step_hu = 15;
  int grow_min_hu = -990;
  double max_volume_ml = 250;
  int threads = 0;
};

struct AirwayResult {
  LabelVolume mask;  // 0 / 1, on the grid of the input
  bool found = false;
  int seed_slice = -1;
  int threshold_hu = 0;  // the T the growth was accepted at
  double volume_ml = 0;
  std::string note;  // why nothing was found, when found == false
};

// `inside_air` (non-zero = air-like voxel inside the body) must be on the grid of `hu`.
AirwayResult SegmentAirways(const HuVolume& hu, const LabelVolume& inside_air,
                            const LabelVolume& body, const AirwayOptions& options = {});

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_AIRWAY_H_
