#include "models/ct/hu_intervals.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scancov::ct {
namespace {

void Count(int hu, const HuIntervalBounds& b, HuIntervalStats& s) {
  ++s.lung_voxels;
  if (hu < b.well_aerated_low) {
    ++(b.low_attenuation_is_well_aerated ? s.well_aerated_voxels : s.low_attenuation_voxels);
  } else if (hu < b.ggo_low) {
    ++s.well_aerated_voxels;
  } else if (hu < b.semi_low) {
    ++s.ggo_voxels;
  } else if (hu < b.consolidation_low) {
    ++s.semi_consolidation_voxels;
  } else {
    ++s.consolidation_voxels;
  }
}

void Finish(double voxel_ml, HuIntervalStats& s) {
  s.lung_volume_ml = s.lung_voxels * voxel_ml;
  s.well_aerated_ml = s.well_aerated_voxels * voxel_ml;
  if (s.lung_voxels == 0) return;
  const double n = static_cast<double>(s.lung_voxels);
  s.low_attenuation_percent = 100.0 * s.low_attenuation_voxels / n;
  s.well_aerated_percent = 100.0 * s.well_aerated_voxels / n;
  s.ggo_percent = 100.0 * s.ggo_voxels / n;
  s.semi_consolidation_percent = 100.0 * s.semi_consolidation_voxels / n;
  s.consolidation_percent = 100.0 * s.consolidation_voxels / n;
}

}  // namespace

absl::StatusOr<HuIntervalQuantification> QuantifyHuIntervals(const HuVolume& hu,
                                                             const LabelVolume& lungs,
                                                             const HuIntervalBounds& b) {
  if (!hu.SameGrid(lungs) || hu.voxels.size() != hu.size() || lungs.voxels.size() != lungs.size()) {
    return absl::InvalidArgumentError(
        "HU intervals: HU volume and lung map are on different grids");
  }
  if (!(b.well_aerated_low < b.ggo_low && b.ggo_low < b.semi_low &&
        b.semi_low < b.consolidation_low)) {
    return absl::InvalidArgumentError(absl::StrCat("HU intervals: bounds must increase (",
                                                   b.well_aerated_low, ", ", b.ggo_low, ", ",
                                                   b.semi_low, ", ", b.consolidation_low, ")"));
  }
  HuIntervalQuantification q;
  for (size_t v = 0; v < hu.voxels.size(); ++v) {
    const uint8_t lung = lungs.voxels[v];
    if (lung == 0) continue;
    if (lung > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("HU intervals: voxel ", v, " has lung label ", lung, " (expected 0-2)"));
    }
    Count(hu.voxels[v], b, lung == 1 ? q.right : q.left);
    Count(hu.voxels[v], b, q.both);
  }
  const double voxel_ml = hu.VoxelVolumeMm3() / 1000.0;
  Finish(voxel_ml, q.right);
  Finish(voxel_ml, q.left);
  Finish(voxel_ml, q.both);
  return q;
}

}  // namespace scancov::ct
