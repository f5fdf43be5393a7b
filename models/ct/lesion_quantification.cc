#include "models/ct/lesion_quantification.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scancov::ct {
namespace {

void Finish(double voxel_ml, LungLesionStats& s) {
  s.volume_ml = s.lung_voxels * voxel_ml;
  if (s.lung_voxels > 0) {
    const double n = static_cast<double>(s.lung_voxels);
    s.ggo_percent = 100.0 * s.ggo_voxels / n;
    s.crazy_paving_percent = 100.0 * s.crazy_paving_voxels / n;
    s.consolidation_percent = 100.0 * s.consolidation_voxels / n;
    s.extent_percent = 100.0 * s.lesion_voxels() / n;
  }
  if (s.lesion_voxels() > 0) {
    const double l = static_cast<double>(s.lesion_voxels());
    s.ggo_of_extent = s.ggo_voxels / l;
    s.crazy_paving_of_extent = s.crazy_paving_voxels / l;
    s.consolidation_of_extent = s.consolidation_voxels / l;
  }
  s.extent_score = ExtentScore(s.extent_percent / 100.0);
}

void Count(uint8_t lesion, LungLesionStats& s) {
  ++s.lung_voxels;
  switch (lesion) {
    case kLesionGgo:
      ++s.ggo_voxels;
      break;
    case kLesionCrazyPaving:
      ++s.crazy_paving_voxels;
      break;
    case kLesionConsolidation:
      ++s.consolidation_voxels;
      break;
    default:
      ++s.healthy_voxels;
  }
}

}  // namespace

int ExtentScore(double f) {
  if (!(f > 0)) return 0;
  if (f < 0.10) return 1;
  if (f < 0.25) return 2;
  if (f < 0.50) return 3;
  if (f < 0.75) return 4;
  return 5;
}

absl::StatusOr<LesionQuantification> QuantifyLesions(const LabelVolume& lungs,
                                                     const LabelVolume& lesions) {
  if (!lungs.SameGrid(lesions) || lungs.voxels.size() != lungs.size() ||
      lesions.voxels.size() != lesions.size()) {
    return absl::InvalidArgumentError(
        "lesion quantification: lung and lesion maps are on different grids");
  }
  LesionQuantification q;
  for (size_t v = 0; v < lungs.voxels.size(); ++v) {
    const uint8_t lung = lungs.voxels[v], lesion = lesions.voxels[v];
    if (lung > 2 || lesion >= kLesionClassCount) {
      return absl::InvalidArgumentError(absl::StrCat("lesion quantification: voxel ", v,
                                                     " has lung label ", lung, " / lesion label ",
                                                     lesion, " (expected 0-2 / 0-4)"));
    }
    if (lung == 0) continue;
    Count(lesion, lung == 1 ? q.right : q.left);
    Count(lesion, q.both);
  }
  const double voxel_ml = lungs.VoxelVolumeMm3() / 1000.0;
  Finish(voxel_ml, q.right);
  Finish(voxel_ml, q.left);
  Finish(voxel_ml, q.both);
  return q;
}

}  // namespace scancov::ct
