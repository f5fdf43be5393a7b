// SegmentationTaskRunner: federated training of the imaging models (issue 5) on the node's own
// labelled CT series, the segmentation kind's work (node/tasks/segmentation_task.cc; spec and
// metrics: protocol/wire/segmentation.h). plan.model is "unet2d" (target "lungs": 0 background,
// 1 right, 2 left) or "unet25d" / "unet3d" (target "lesions": 0 outside the lungs, 1 healthy,
// 2 GGO, 3 crazy paving, 4 consolidation).
//
// Every series is brought to in_plane x in_plane (FitInPlaneHu: equal in-plane spacing from the
// field of view, centre crop/pad) so sites with different scanners share one network. Series
// are split train/validation by a keyed hash of their pseudonymous key. TRAIN first evaluates
// the received model on the validation series (the seed's metrics, models/ct/evaluation.h),
// then trains; EVALUATE only evaluates, on every series when "evaluate_all" (a held-out site).
// Metrics: counts "global.n_*" (summed exactly across sites by the aggregator) and per-site
// values: global.lung_accuracy, global.dice_right / dice_left (lungs); global.lesion_f1,
// global.dice_<class>, global.rve_<class> (median |relative volume error|) (lesions).
//
// Disclosure control (issue 12), with the site's minimum count, or the study's when larger
// (privacy::EffectiveMinCellCount): the validation metrics leave only from at least that many
// validation series (else wire::kSegValWithheld = 1 and an EVALUATE answer counts 0 samples);
// the lesion voxel counts (and the F1 made from them) only when each is 0 or at least the
// minimum (else wire::kSegLesionCountsWithheld = 1); TRAIN refuses fewer training series than
// the minimum.
#ifndef SCANCOV_NODE_SEGMENTATION_RUNNER_H_
#define SCANCOV_NODE_SEGMENTATION_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/volume.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace scancov::node {

struct LabelledSeries {
  std::string series_key;
  HuVolume ct;
  LabelVolume lungs;    // empty when the series has no lung labels
  LabelVolume lesions;  // empty when the series has no lesion labels
};

// Where the runner gets the node's labelled series from (the imaging store + volume cache in
// production, see MakeStoreSeriesSource).
class LabelledSeriesSource {
 public:
  virtual ~LabelledSeriesSource() = default;
  // Series that have labels for `target`, at most `max_series` (0: all), in series-key order.
  virtual absl::StatusOr<std::vector<LabelledSeries>> Load(const std::string& target,
                                                           int max_series) = 0;
};

struct SegmentationRunnerOptions {
  std::string site_id;
  std::string device = "auto";
  bool allow_model_weights = true;
  // Threads that fit the series to in_plane, and LibTorch's intra-op threads for training and
  // evaluation (nn::SetTorchThreads, at the start of each task); 0: all cores for the former,
  // LibTorch's own choice (OMP_NUM_THREADS, or the physical cores) for the latter.
  int threads = 0;
  privacy::ReleasePolicy policy;  // the site's (its minimum count)
  uint64_t split_key = 0;         // the site's (NodeContext::split_key): its validation split
};

class SegmentationTaskRunner : public TaskRunner {
 public:
  SegmentationTaskRunner(LabelledSeriesSource* data, SegmentationRunnerOptions options)
      : data_(data), options_(std::move(options)) {}
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;
  // Reports the training's epochs and batches; stops with Cancelled once `progress` is.
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const protocol::TensorSet* global,
                                         Progress& progress) override;

 private:
  LabelledSeriesSource* data_;
  SegmentationRunnerOptions options_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_SEGMENTATION_RUNNER_H_
