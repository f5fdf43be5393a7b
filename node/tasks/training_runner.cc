#include "node/tasks/training_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "models/nn/local_training.h"
#include "models/stats/auc.h"
#include "protocol/wire/tabular_training.h"

namespace scancov::node {
namespace {

nn::TabularData ToTabular(const PreparedSplit& split) {
  nn::TabularData d;
  d.rows = split.rows;
  d.cols = split.cols;
  d.x = split.x;
  d.y = split.y;
  return d;
}

uint64_t LocalSeed(uint64_t study_seed, uint32_t round, const std::string& site) {
  const std::string digest = Sha256Digest(absl::StrCat(study_seed, "/", round, "/", site));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  return v;
}

// Whether the validation metrics of `val` may leave: at least `min_cell` patients, events
// and non-events (every validation metric here depends on the outcome).
bool ValidationReleasable(const PreparedSplit& val, int min_cell) {
  int64_t events = 0;
  for (float y : val.y) events += y == 1.0f;
  return val.rows >= min_cell && events >= min_cell && val.rows - events >= min_cell;
}

// The validation metrics, or only wire::kValWithheld when they may not leave. Returns whether
// they were released.
absl::StatusOr<bool> AddEvaluation(const protocol::TensorSet& weights, const PreparedSplit& val,
                                   const v1::Task& task, const wire::TabularTrainingSpec& spec,
                                   const std::string& device, int min_cell, TaskOutcome* out) {
  if (val.rows == 0) return false;
  if (!ValidationReleasable(val, min_cell)) {
    out->metrics[wire::kValWithheld] = 1;
    return false;
  }
  SCV_ASSIGN_OR_RETURN(
      nn::EvalResult eval,
      nn::Evaluate(weights, ToTabular(val), task.plan().model(), spec.model_config_json, device));
  out->metrics[wire::kGlobalValLoss] = eval.loss;
  out->metrics[wire::kGlobalValAccuracy] = eval.accuracy;
  out->metrics[wire::kGlobalValRows] = static_cast<double>(val.rows);
  std::vector<double> labels(val.y.begin(), val.y.end());
  absl::StatusOr<double> auc = stats::Auc(eval.probabilities, labels);
  if (auc.ok()) out->metrics[wire::kGlobalValAuc] = *auc;
  return true;
}

nn::DpSgdSettings DpSgdSettingsOf(const DpSgdTerms& terms) {
  nn::DpSgdSettings s;
  s.clip_norm = terms.clip_norm;
  s.noise_multiplier = terms.noise_multiplier;
  s.sample_rate = terms.sample_rate;
  s.steps_per_epoch = terms.steps_per_epoch;
  privacy::dp::GaussianSource* noise = terms.noise;
  s.standard_normal = [noise](absl::Span<double> out) {
    if (noise == nullptr) return absl::FailedPreconditionError("DP-SGD: no noise source");
    return noise->FillStandardNormal(out);
  };
  return s;
}

}  // namespace

absl::StatusOr<PreparedData> TrainingTaskRunner::Prepare(const v1::Task& task,
                                                         const wire::TabularTrainingSpec& spec) {
  SCV_ASSIGN_OR_RETURN(TabularRows rows,
                       data_->Load(wire::FeatureNames(spec.features), spec.outcome));
  return PrepareTabular(rows, spec, options_.split_key);  // the site's split, not the plan's
}

absl::StatusOr<TaskOutcome> TrainingTaskRunner::Run(const v1::Task& task,
                                                    const protocol::TensorSet* global) {
  Progress untracked;
  return RunTracked(task, global, untracked);
}

absl::StatusOr<TaskOutcome> TrainingTaskRunner::RunTracked(const v1::Task& task,
                                                           const protocol::TensorSet* global,
                                                           Progress& progress) {
  SCV_ASSIGN_OR_RETURN(const wire::TabularTrainingSpec spec,
                       wire::ParseTabularTrainingSpec(task.spec_json()));
  TaskOutcome out;
  const bool sends_weights =
      task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
  if (sends_weights && !options_.allow_model_weights) {
    return absl::PermissionDeniedError(
        "site privacy policy: model weights may not leave this site (allow_model_weights)");
  }
  if (task.kind() == v1::TASK_KIND_INIT_MODEL) {
    SCV_ASSIGN_OR_RETURN(
        protocol::TensorSet w,
        nn::InitModel(task.plan().model(), spec.model_config_json, task.plan().seed()));
    out.weights = std::move(w);
    return out;
  }
  if (global == nullptr) return absl::InvalidArgumentError("task has no global model");
  SCV_ASSIGN_OR_RETURN(PreparedData data, Prepare(task, spec));
  if (task.held_out_site()) {  // an external site: every row is unseen data
    data.validation.x.insert(data.validation.x.end(), data.train.x.begin(), data.train.x.end());
    data.validation.y.insert(data.validation.y.end(), data.train.y.begin(), data.train.y.end());
    data.validation.rows += data.train.rows;
  }
  const int min_cell = privacy::EffectiveMinCellCount(options_.policy, spec.min_cell_count);
  SCV_ASSIGN_OR_RETURN(const bool released, AddEvaluation(*global, data.validation, task, spec,
                                                          options_.device, min_cell, &out));
  if (task.kind() == v1::TASK_KIND_EVALUATE) {
    out.num_samples = released ? static_cast<uint64_t>(data.validation.rows) : 0;
    return out;
  }
  if (task.kind() != v1::TASK_KIND_TRAIN) {
    return absl::UnimplementedError(
        absl::StrCat("task kind ", v1::TaskKind_Name(task.kind()), " is not a training task"));
  }
  // The training part's size leaves as the FedAvg weight: never below the minimum count. Its
  // size is not named: it may be below the count.
  const int64_t min_train = std::max<int64_t>(options_.min_rows, min_cell);
  if (data.train.rows < min_train) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tabular_training: fewer training rows at this site than the minimum (", min_train, ")"));
  }
  nn::TrainConfig config;
  config.model = task.plan().model();
  config.model_config_json = spec.model_config_json;
  config.epochs = static_cast<int>(task.plan().local_epochs());
  config.batch_size =
      task.plan().batch_size() > 0 ? static_cast<int>(task.plan().batch_size()) : 32;
  config.learning_rate = task.plan().learning_rate();
  config.proximal_mu = task.plan().proximal_mu();
  config.seed = LocalSeed(task.plan().seed(), task.round(), options_.site_id);
  config.device = options_.device;
  config.progress = &progress;
  if (options_.dp_sgd != nullptr) {
    if (const std::optional<DpSgdTerms> terms = options_.dp_sgd->Take()) {
      config.dp_sgd = DpSgdSettingsOf(*terms);
    }
  }
  SCV_ASSIGN_OR_RETURN(nn::TrainResult trained,
                       nn::TrainLocal(*global, ToTabular(data.train), config));
  out.num_samples = static_cast<uint64_t>(trained.num_samples);
  out.metrics[wire::kLocalTrainLossStart] = trained.metrics.loss_start;
  out.metrics[wire::kLocalTrainLossEnd] = trained.metrics.loss_end;
  out.weights = std::move(trained.weights);
  return out;
}

}  // namespace scancov::node
