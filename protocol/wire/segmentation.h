// The segmentation kind on the wire: the spec of a study that trains a lung or lesion
// segmentation network on the sites' labelled CT series, and the metrics a site releases. Read
// by the node (node/tasks/segmentation_task.cc, segmentation_runner.cc) and the aggregator
// (aggregator/studies/segmentation_study.cc); the rounds are plain federated training
// (aggregator/studies/training_rounds.h), the weights the network's (models/nn).
//
// Spec (StudySpec.spec_json):
//   {"task": "segmentation", "target": "lungs" | "lesions", "in_plane": 64,
//    "validation_fraction": 0.25, "max_series": 40, "augment": "geometric",
//    "evaluate_all": false, "min_cell_count": 10, "model_config": {...}}
// "augment": "none" (= false, the default), "geometric" (random flip / rotation / scale, 3D
// shifts) or "full" (= true: geometric + contrast jitter; models/nn/segmentation.h).
// "model_config" is the network's config object, checked by models/nn on the node; here it is
// a JSON object only.
//
// A site releases metrics only (UploadHeader.metrics, SegmentationMetricNames): counts
// "global.n_*" (summed exactly across sites) and per-site values of the received model on its
// validation series, and its local training loss and speed. A site with fewer validation series
// than its minimum count (or the study's "min_cell_count" when larger) withholds every
// validation metric and releases kSegValWithheld = 1; lesion voxel counts below the minimum
// (other than 0) are withheld with the F1 made from them, kSegLesionCountsWithheld = 1.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_SEGMENTATION_H_
#define SCANCOV_PROTOCOL_WIRE_SEGMENTATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::wire {

enum class SegmentationAugment { kNone, kGeometric, kFull };

struct SegmentationSpec {
  std::string target = "lungs";  // lungs: 0 background, 1 right, 2 left; lesions: 0 outside
                                 // the lungs, 1 healthy, 2 GGO, 3 crazy paving, 4 consolidation
  int in_plane = 64;             // every series brought to in_plane x in_plane
  double validation_fraction = 0.25;
  int max_series = 0;  // 0: every labelled series
  SegmentationAugment augment = SegmentationAugment::kNone;
  bool evaluate_all = false;  // EVALUATE on every series (a held-out site)
  int min_cell_count = 0;     // the study's minimum count (0: the site's alone)
  std::string model_config;   // the network's config object as JSON text; "" for none
};

// InvalidArgument naming the field: another task, a target other than lungs or lesions,
// in_plane outside 16..1024, validation_fraction outside [0, 1], max_series outside 0..100000,
// augment not true, false, "none", "geometric" or "full", evaluate_all not a boolean,
// min_cell_count outside 0..100000, model_config not an object.
absl::StatusOr<SegmentationSpec> ParseSegmentationSpec(const std::string& spec_json);
std::string ToJson(const SegmentationSpec& spec);

// The metrics a site releases, by name.
inline constexpr char kSegNVal[] = "global.n_val";
inline constexpr char kSegNVoxels[] = "global.n_voxels";
inline constexpr char kSegNLungAgree[] = "global.n_lung_agree";
inline constexpr char kSegLungAccuracy[] = "global.lung_accuracy";
inline constexpr char kSegDiceRight[] = "global.dice_right";   // lungs
inline constexpr char kSegDiceLeft[] = "global.dice_left";     // lungs
inline constexpr char kSegNLesionTp[] = "global.n_lesion_tp";  // lesions
inline constexpr char kSegNLesionFp[] = "global.n_lesion_fp";
inline constexpr char kSegNLesionFn[] = "global.n_lesion_fn";
inline constexpr char kSegLesionF1[] = "global.lesion_f1";
inline constexpr char kSegTrainLossStart[] = "local.train_loss_start";
inline constexpr char kSegTrainLossEnd[] = "local.train_loss_end";
inline constexpr char kSegSlicesPerSecond[] = "local.slices_per_second";
// 1 when the site withheld its validation metrics, or its lesion counts (summed over sites: how
// many withheld).
inline constexpr char kSegValWithheld[] = "local.n_val_withheld";
inline constexpr char kSegLesionCountsWithheld[] = "local.n_lesion_counts_withheld";
// The lesion classes 1..4, as they name the per-class metrics.
inline constexpr const char* kSegLesionClasses[] = {"healthy", "ggo", "crazy_paving",
                                                    "consolidation"};
// "global.dice_<class>" and "global.rve_<class>" (median |relative volume error|), lesions.
std::string SegLesionDiceMetric(int lesion_class);  // 1..4
std::string SegLesionRveMetric(int lesion_class);   // 1..4

// Every metric a site may release for `target` (lungs or lesions).
std::vector<std::string> SegmentationMetricNames(const std::string& target);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_SEGMENTATION_H_
