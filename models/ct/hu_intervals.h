// AI-SCoRE's CT features: the share of the lung volume in each HU interval, per lung.
//
// Intervals (lower bound inclusive, upper exclusive), configurable in HuIntervalBounds:
//   low attenuation   HU < well_aerated_low            (default -950: emphysema, bullae, and the
//                                                       air of bronchi inside the mask)
//   well-aerated      [well_aerated_low, ggo_low)      (default [-950, -780))
//   GGO               [ggo_low, semi_low)              (AI-SCoRE: [-780, -570))
//   semi-consolidation [semi_low, consolidation_low)   (AI-SCoRE: [-570, -290))
//   consolidation     HU >= consolidation_low          (AI-SCoRE: >= -290; vessels count here too)
// AI-SCoRE publishes the three lesion intervals; "well-aerated" is the rest of the aerated
// range. The -950 lower bound is the usual emphysema index threshold (LAA-950), so voxels
// below it are reported apart instead of being counted as healthy aerated lung; with
// `low_attenuation_is_well_aerated` they are merged into well-aerated (the alternative reading
// "everything below -780"). Percentages are of all lung voxels, so the five sum to 100.
#ifndef SCANCOV_MODELS_CT_HU_INTERVALS_H_
#define SCANCOV_MODELS_CT_HU_INTERVALS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

struct HuIntervalBounds {
  int well_aerated_low = -950;
  int ggo_low = -780;
  int semi_low = -570;
  int consolidation_low = -290;
  bool low_attenuation_is_well_aerated = false;
};

struct HuIntervalStats {
  int64_t lung_voxels = 0;
  int64_t low_attenuation_voxels = 0;
  int64_t well_aerated_voxels = 0;
  int64_t ggo_voxels = 0;
  int64_t semi_consolidation_voxels = 0;
  int64_t consolidation_voxels = 0;
  double lung_volume_ml = 0;
  double well_aerated_ml = 0;
  // Percent of the lung volume (0..100).
  double low_attenuation_percent = 0;
  double well_aerated_percent = 0;
  double ggo_percent = 0;
  double semi_consolidation_percent = 0;
  double consolidation_percent = 0;
};

struct HuIntervalQuantification {
  HuIntervalStats right;
  HuIntervalStats left;
  HuIntervalStats both;
};

// Fails with InvalidArgument when the grids differ, a lung label is not 0/1/2, or the bounds
// are not strictly increasing.
absl::StatusOr<HuIntervalQuantification> QuantifyHuIntervals(const HuVolume& hu,
                                                             const LabelVolume& lungs,
                                                             const HuIntervalBounds& bounds = {});

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_HU_INTERVALS_H_
