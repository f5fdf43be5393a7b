// The model-free lesion map of bedside scoring: the AI-SCoRE HU intervals inside the lung mask,
// written as the seed's lesion classes (models/ct/lesion_quantification.h), for when no learned
// lesion model is given.
//
// Mapping (an approximation of the learned classes, documented in the report):
//   HU in [ggo_low, semi_low)            [-780, -570)  -> GGO           (kLesionGgo)
//   HU in [semi_low, consolidation_low)  [-570, -290)  -> crazy paving  (kLesionCrazyPaving)
//   HU >= consolidation_low              >= -290       -> consolidation (kLesionConsolidation)
//   anything else inside the lungs                     -> healthy       (kLesionHealthy)
// AI-SCoRE calls the middle interval "semi-consolidation". Crazy paving is a pattern (GGO with
// thickened septa), not a density, but its mean density sits in that interval (the phantom
// draws it at -530 with -380 septa), so the interval is the closest model-free proxy; a
// semi-consolidated area without septa is counted as crazy paving too.
//
// Why not classify raw voxels: noise (15-20 HU) pushes a few percent of normal parenchyma
// (-850 +- 40) over -780, and partial volume at the pleura, around vessels and bronchial walls
// gives thin rims of "lesion" density. So:
//   1. HU are smoothed by a 3 x 3 in-plane mean (noise / 3) before classification;
//   2. the lesion mask (all three classes) is opened (eroded then dilated, in plane) by
//      `opening_radius_mm`: structures thinner than about twice the radius (pleural rims,
//      vessel walls, small vessels) go, lesion areas keep their shape and border;
//   3. lesion components (26-connected) under `min_component_ml` are dropped.
// Vessels thicker than the opening (central trunks near the hila) remain and count as
// consolidation, as in AI-SCoRE's own consolidation interval.
//
// Thread-safe (pure); the work is split over `threads` (0 = hardware).
#ifndef SCANCOV_NODE_BEDSIDE_HU_LESIONS_H_
#define SCANCOV_NODE_BEDSIDE_HU_LESIONS_H_

#include "absl/status/statusor.h"
#include "core/volume.h"
#include "models/ct/hu_intervals.h"

namespace scancov::node {

struct HuLesionOptions {
  ct::HuIntervalBounds bounds;  // AI-SCoRE's intervals by default
  bool smooth = true;
  double opening_radius_mm = 2.0;
  double consolidation_opening_radius_mm = 4.0;
  double min_component_ml = 0.05;
  int threads = 0;
};

// A lesion label map (0 outside the lungs, 1 healthy, 2 GGO, 3 crazy paving, 4 consolidation)
// on the grid of `hu`. InvalidArgument when the grids differ or the bounds do not increase.
absl::StatusOr<LabelVolume> ClassifyLesionsByHu(const HuVolume& hu, const LabelVolume& lungs,
                                                const HuLesionOptions& options = {});

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_HU_LESIONS_H_
