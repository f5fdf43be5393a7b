// Lesion quantification per lung, as the seed's AI-segment markers: for the right lung, the left
// lung and both together, the lung volume, the percentage of the lung volume taken by each
// lesion class (GGO, crazy paving, consolidation) and by all lesions (the total extent), the
// normalised markers (each lesion type as a fraction of the extent), and the extent on the
// radiology report's 0-5 scale.
//
// Inputs: a lung label map (0 background, 1 right, 2 left; lung_mask.h or a model) and a lesion
// label map (0 outside, 1 healthy, 2 GGO, 3 crazy paving, 4 consolidation) on the same grid.
// As in the released AI-segment, lesion labels outside the lung mask are ignored and the counts
// are over lung voxels; a lung voxel with lesion label 0 or 1 counts as healthy.
#ifndef SCANCOV_MODELS_CT_LESION_QUANTIFICATION_H_
#define SCANCOV_MODELS_CT_LESION_QUANTIFICATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

// Lesion label values (as sites/ct's phantom truth and the seed's classes).
enum LesionClass : uint8_t {
  kLesionBackground = 0,
  kLesionHealthy = 1,
  kLesionGgo = 2,
  kLesionCrazyPaving = 3,
  kLesionConsolidation = 4,
};
inline constexpr int kLesionClassCount = 5;

struct LungLesionStats {
  int64_t lung_voxels = 0;
  int64_t healthy_voxels = 0;
  int64_t ggo_voxels = 0;
  int64_t crazy_paving_voxels = 0;
  int64_t consolidation_voxels = 0;
  double volume_ml = 0;
  // Percent of the lung volume (0..100); 0 when the lung is empty.
  double ggo_percent = 0;
  double crazy_paving_percent = 0;
  double consolidation_percent = 0;
  double extent_percent = 0;  // all lesions
  // The seed's normalised markers: each type's share of the lesions (0..1; sum 1 when there
  // are lesions, all 0 when there are none).
  double ggo_of_extent = 0;
  double crazy_paving_of_extent = 0;
  double consolidation_of_extent = 0;
  int extent_score = 0;  // ExtentScore(extent_percent / 100)

  int64_t lesion_voxels() const { return ggo_voxels + crazy_paving_voxels + consolidation_voxels; }
};

struct LesionQuantification {
  LungLesionStats right;
  LungLesionStats left;
  LungLesionStats both;
};

// The radiology report's disease extent: 0 none (fraction <= 0), 1 < 10%, 2 10-25%,
// 3 25-50%, 4 50-75%, 5 >= 75% (lower bounds inclusive, as sites/cohort scores it).
int ExtentScore(double extent_fraction);

// Fails with InvalidArgument when the grids differ or a lung label is not 0/1/2 or a lesion
// label is above 4 ("lesion quantification: ...").
absl::StatusOr<LesionQuantification> QuantifyLesions(const LabelVolume& lungs,
                                                     const LabelVolume& lesions);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_LESION_QUANTIFICATION_H_
