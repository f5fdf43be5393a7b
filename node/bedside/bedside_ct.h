// The CT stages of bedside scoring on one decoded series: lungs, the chest-CT plausibility
// check, lesions, quantification and the overlay images. score_patient.h chains them.
#ifndef SCANCOV_NODE_BEDSIDE_BEDSIDE_CT_H_
#define SCANCOV_NODE_BEDSIDE_BEDSIDE_CT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/volume.h"
#include "node/bedside/bedside_result.h"

namespace scancov::node {

struct LungStage {
  LabelVolume labels;  // 0 background, 1 right, 2 left
  std::string method;
  std::vector<std::string> notes;
};

// The learned 2D U-Net when options.lung_checkpoint is set, else the model-free mask
// (models/ct/lung_mask.h). `left_at_high_column`: the series' column index grows towards the
// patient's left (LPS row direction +x), as for nearly every axial series.
absl::StatusOr<LungStage> SegmentLungs(const HuVolume& hu, const BedsideOptions& options,
                                       bool left_at_high_column);

// OK when `lungs` holds a right and a left lung and together at least min_lung_volume_ml;
// otherwise FailedPrecondition "not a chest CT: why" with the volumes found.
absl::Status CheckChestLungs(const LabelVolume& lungs, double min_lung_volume_ml);

// Lesion labels (0-4): the learned ensemble when options.lesion_checkpoints is set, else the
// HU intervals (models/ct/hu_lesions.h). `method` describes which.
absl::StatusOr<LabelVolume> SegmentLesions(const HuVolume& hu, const LabelVolume& lungs,
                                           const BedsideOptions& options, std::string* method);

// Fills result's lesions, hu_intervals, disease_extent and calcium from the maps. Calcium that
// cannot be measured leaves calcium_available false with a note.
absl::Status QuantifyCt(const HuVolume& hu, const LabelVolume& lungs, const LabelVolume& lesions,
                        const BedsideOptions& options, BedsideResult& result);

// PNG overlays of the most affected slice in each of `count` zones of the lungs' slice range
// (upper, middle, lower for 3), and the per-lung summary chart.
absl::Status RenderReportImages(const HuVolume& hu, const LabelVolume& lungs,
                                const LabelVolume& lesions, int count, bool superior_at_high_k,
                                BedsideResult& result);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_BEDSIDE_CT_H_
