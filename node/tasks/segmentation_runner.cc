#include "node/tasks/segmentation_runner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "models/ct/evaluation.h"
#include "models/ct/preprocessing.h"
#include "models/nn/local_training.h"
#include "models/nn/seg_predictor.h"
#include "models/nn/segmentation.h"
#include "node/tabular_features.h"
#include "protocol/wire/segmentation.h"

namespace scancov::node {
namespace {

absl::StatusOr<nn::SegmentationExample> Prepare(const LabelledSeries& s,
                                                const wire::SegmentationSpec& spec, int threads) {
  nn::SegmentationExample e;
  SCV_ASSIGN_OR_RETURN(e.ct, ct::FitInPlaneHu(s.ct, spec.in_plane, threads));
  const LabelVolume& labels = spec.target == "lungs" ? s.lungs : s.lesions;
  SCV_ASSIGN_OR_RETURN(e.labels, ct::FitInPlaneLabels(labels, spec.in_plane, threads));
  return e;
}

double Median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Whether the lesion voxel counts may leave: each is 0 or at least the minimum count.
bool CountsReleasable(std::initializer_list<int64_t> counts, int min_cell) {
  for (int64_t c : counts) {
    if (c != 0 && c < min_cell) return false;
  }
  return true;
}

// The seed's metrics of `weights` on the validation examples, as "global.*" metrics. Fewer
// validation scans than `min_cell`: none of them, and wire::kSegValWithheld = 1 instead (per-scan
// medians and means of one scan describe that scan). Returns whether they were released.
absl::StatusOr<bool> Evaluate(const protocol::TensorSet& weights, const std::string& model,
                              const wire::SegmentationSpec& spec,
                              const std::vector<nn::SegmentationExample>& val,
                              const std::string& device, int min_cell, TaskOutcome* out) {
  if (val.empty()) return false;
  if (static_cast<int64_t>(val.size()) < min_cell) {
    out->metrics[wire::kSegValWithheld] = 1;
    return false;
  }
  int64_t voxels = 0, agree = 0, tp = 0, fp = 0, fn = 0;
  std::vector<double> dice_right, dice_left;
  std::array<std::vector<double>, 5> dice, rve;
  // One network for all the validation series; only their labels come back from it.
  SCV_ASSIGN_OR_RETURN(
      nn::SegmentationPredictor predictor,
      nn::SegmentationPredictor::Create(weights, model, spec.model_config, {device, /*batch=*/0}));
  for (const nn::SegmentationExample& e : val) {
    if (spec.target == "lungs") {
      SCV_ASSIGN_OR_RETURN(LabelVolume pred, predictor.PredictLabels(e.ct));
      int64_t inter[3] = {0, 0, 0}, np[3] = {0, 0, 0}, nr[3] = {0, 0, 0};
      for (size_t i = 0; i < pred.voxels.size(); ++i) {
        const uint8_t a = pred.voxels[i], b = e.labels.voxels[i];
        agree += (a >= 1) == (b >= 1);
        ++np[std::min<uint8_t>(a, 2)];
        ++nr[std::min<uint8_t>(b, 2)];
        inter[std::min<uint8_t>(a, 2)] += a == b;
      }
      voxels += static_cast<int64_t>(pred.voxels.size());
      for (int c : {1, 2}) {
        const double d = np[c] + nr[c] ? 2.0 * inter[c] / (np[c] + nr[c]) : 1.0;
        (c == 1 ? dice_right : dice_left).push_back(d);
      }
      continue;
    }
    // Lesions: argmax inside the reference lung mask, as the seed evaluates lesion maps.
    LabelVolume lung_mask = e.labels;
    for (uint8_t& v : lung_mask.voxels) v = v >= 1 && v <= 4 ? 1 : 0;
    SCV_ASSIGN_OR_RETURN(LabelVolume pred, predictor.PredictLabels(e.ct, &lung_mask));
    LabelVolume ref = e.labels;
    for (uint8_t& v : ref.voxels) v = v > 4 ? 0 : v;  // unlabelled voxels count as outside
    SCV_ASSIGN_OR_RETURN(ct::ScanEvaluation s, ct::EvaluateScan(pred, ref));
    voxels += s.voxels;
    agree += s.lung_agreement;
    tp += s.lesion_vs_healthy.tp;
    fp += s.lesion_vs_healthy.fp;
    fn += s.lesion_vs_healthy.fn;
    for (int c = 1; c < 5; ++c) {
      dice[c].push_back(s.dice[c]);
      rve[c].push_back(std::fabs(s.relative_volume_error[c]));
    }
  }
  out->metrics[wire::kSegNVal] = static_cast<double>(val.size());
  out->metrics[wire::kSegNVoxels] = static_cast<double>(voxels);
  out->metrics[wire::kSegNLungAgree] = static_cast<double>(agree);
  out->metrics[wire::kSegLungAccuracy] = voxels ? double(agree) / voxels : NAN;
  if (spec.target == "lungs") {
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return v.empty() ? NAN : s / v.size();
    };
    out->metrics[wire::kSegDiceRight] = mean(dice_right);
    out->metrics[wire::kSegDiceLeft] = mean(dice_left);
    return true;
  }
  if (CountsReleasable({tp, fp, fn}, min_cell)) {
    out->metrics[wire::kSegNLesionTp] = static_cast<double>(tp);
    out->metrics[wire::kSegNLesionFp] = static_cast<double>(fp);
    out->metrics[wire::kSegNLesionFn] = static_cast<double>(fn);
    out->metrics[wire::kSegLesionF1] =
        2.0 * tp + fp + fn > 0 ? 2.0 * tp / (2.0 * tp + fp + fn) : 1.0;
  } else {
    out->metrics[wire::kSegLesionCountsWithheld] = 1;
  }
  for (int c = 1; c < 5; ++c) {
    const double d = Median(dice[c]), r = Median(rve[c]);
    if (!std::isnan(d)) out->metrics[wire::SegLesionDiceMetric(c)] = d;
    if (!std::isnan(r)) out->metrics[wire::SegLesionRveMetric(c)] = r;
  }
  return true;
}

uint64_t LocalSeed(uint64_t study_seed, uint32_t round, const std::string& site) {
  const std::string digest = Sha256Digest(absl::StrCat("seg/", study_seed, "/", round, "/", site));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  return v;
}

}  // namespace

absl::StatusOr<TaskOutcome> SegmentationTaskRunner::Run(const v1::Task& task,
                                                        const protocol::TensorSet* global) {
  Progress untracked;
  return RunTracked(task, global, untracked);
}

absl::StatusOr<TaskOutcome> SegmentationTaskRunner::RunTracked(const v1::Task& task,
                                                               const protocol::TensorSet* global,
                                                               Progress& progress) {
  SCV_ASSIGN_OR_RETURN(const wire::SegmentationSpec spec,
                       wire::ParseSegmentationSpec(task.spec_json()));
  const std::string& model = task.plan().model();
  // LibTorch's intra-op threads for this task's training and evaluation (0: LibTorch's choice),
  // set on the thread that runs them.
  nn::SetTorchThreads(options_.threads);
  TaskOutcome out;
  if ((task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN) &&
      !options_.allow_model_weights) {
    return absl::PermissionDeniedError(
        "site privacy policy: model weights may not leave this site (allow_model_weights)");
  }
  if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
    SCV_ASSIGN_OR_RETURN(protocol::TensorSet w,
                         nn::InitSegmentationModel(model, spec.model_config, task.plan().seed()));
    out.weights = std::move(w);
    return out;
  }
  if (global == nullptr) return absl::InvalidArgumentError("task has no global model");
  SCV_ASSIGN_OR_RETURN(std::vector<LabelledSeries> series,
                       data_->Load(spec.target, spec.max_series));
  std::vector<nn::SegmentationExample> train, val;
  for (const LabelledSeries& s : series) {
    const bool held_out = spec.evaluate_all || task.held_out_site() ||
                          InHoldout(s.series_key, options_.split_key, spec.validation_fraction);
    SCV_ASSIGN_OR_RETURN(nn::SegmentationExample e, Prepare(s, spec, options_.threads));
    (held_out ? val : train).push_back(std::move(e));
  }
  const int min_cell = privacy::EffectiveMinCellCount(options_.policy, spec.min_cell_count);
  SCV_ASSIGN_OR_RETURN(const bool released,
                       Evaluate(*global, model, spec, val, options_.device, min_cell, &out));
  if (task.kind() == v1::TASK_KIND_EVALUATE) {
    out.num_samples = released ? val.size() : 0;
    return out;
  }
  // The number of training series leaves as the FedAvg weight: never below the minimum.
  if (train.empty() || static_cast<int64_t>(train.size()) < min_cell) {
    return absl::FailedPreconditionError(
        absl::StrCat("segmentation: fewer labelled series for '", spec.target,
                     "' to train on at this site than the minimum (", std::max(min_cell, 1), ")"));
  }
  nn::SegTrainConfig config;
  config.model = model;
  config.model_config_json = spec.model_config;
  config.epochs = static_cast<int>(task.plan().local_epochs());
  config.batch_size = task.plan().batch_size() > 0 ? static_cast<int>(task.plan().batch_size()) : 8;
  config.learning_rate = task.plan().learning_rate();
  config.seed = LocalSeed(task.plan().seed(), task.round(), options_.site_id);
  config.device = options_.device;
  config.mixed_precision = true;  // used on CUDA only
  config.augment = spec.augment != wire::SegmentationAugment::kNone;
  config.augment_intensity = spec.augment != wire::SegmentationAugment::kGeometric;
  config.num_workers = 1;
  config.proximal_mu = task.plan().proximal_mu();
  config.progress = &progress;
  SCV_ASSIGN_OR_RETURN(nn::SegTrainResult trained, nn::TrainSegmentation(*global, train, config));
  out.num_samples = static_cast<uint64_t>(trained.num_samples);
  out.metrics[wire::kSegTrainLossStart] = trained.metrics.loss_start;
  out.metrics[wire::kSegTrainLossEnd] = trained.metrics.loss_end;
  out.metrics[wire::kSegSlicesPerSecond] = trained.metrics.slices_per_second;
  out.weights = std::move(trained.weights);
  return out;
}

}  // namespace scancov::node
