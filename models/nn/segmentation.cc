#include "models/nn/segmentation.h"

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "models/nn/batch_prefetcher.h"
#include "models/nn/local_trainer.h"
#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/seg_batches.h"
#include "models/nn/seg_config.h"
#include "models/nn/seg_models.h"
#include "models/nn/state_dict.h"
#include "models/nn/torch_runtime.h"

namespace scancov::nn {
namespace {

using protocol::TensorSet;
namespace F = torch::nn::functional;

// Samples per forward pass when measuring the loss (prediction: seg_predictor.cc).
constexpr int64_t kEvalBatch2d = 8;
constexpr int64_t kEvalBatch3d = 2;

absl::Status ValidateSegTrainConfig(const SegTrainConfig& config) {
  SCV_RETURN_IF_ERROR(CheckTrainingSettings("SegTrainConfig", config.epochs, config.batch_size,
                                            config.learning_rate, config.proximal_mu));
  if (config.num_workers < 0 || config.num_workers > 64) {
    return absl::InvalidArgumentError("SegTrainConfig: num_workers not 0..64");
  }
  return absl::OkStatus();
}

SegBatchBuilder MakeBuilder(const SegNetConfig& config,
                            const std::vector<SegmentationExample>& examples) {
  std::vector<const HuVolume*> cts;
  std::vector<const LabelVolume*> labels;
  for (const SegmentationExample& example : examples) {
    cts.push_back(&example.ct);
    labels.push_back(&example.labels);
  }
  return SegBatchBuilder(config, std::move(cts), std::move(labels));
}

// The batch's tensors on `device` (on the CPU the input aliases the batch, which outlives it).
torch::Tensor InputOf(SegBatch& batch, torch::Device device) {
  torch::Tensor x = torch::from_blob(batch.input.data(), batch.input_shape, torch::kFloat32);
  return device.is_cuda() ? x.pin_memory().to(device, /*non_blocking=*/true) : x;
}

torch::Tensor TargetOf(SegBatch& batch, torch::Device device) {
  return torch::from_blob(batch.target.data(), batch.target_shape, torch::kUInt8)
      .to(device, torch::kLong);
}

// Cross-entropy summed over the labelled voxels (label 255 ignored), in float32.
torch::Tensor SummedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& target) {
  return F::cross_entropy(
      logits.to(torch::kFloat32), target,
      F::CrossEntropyFuncOptions().ignore_index(kUnlabelled).reduction(torch::kSum));
}

// Mean cross-entropy over the labelled voxels of `samples`, in eval mode.
SegLossResult MeanLoss(Network& net, const SegNetConfig& config, const SegBatchBuilder& builder,
                       const std::vector<SegSample>& samples, torch::Device device) {
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t step = config.is_3d() ? kEvalBatch3d : kEvalBatch2d;
  double total = 0.0;
  SegLossResult result;
  result.num_samples = static_cast<int64_t>(samples.size());
  for (int64_t start = 0; start < result.num_samples; start += step) {
    const auto first = samples.begin() + start;
    const std::vector<SegSample> part(first, first + std::min(step, result.num_samples - start));
    SegBatch batch = builder.Build(part, {});
    if (batch.labelled == 0) continue;
    torch::Tensor logits = net.forward(InputOf(batch, device));
    total += SummedCrossEntropy(logits, TargetOf(batch, device)).item<double>();
    result.labelled_voxels += batch.labelled;
  }
  result.loss = result.labelled_voxels > 0 ? total / result.labelled_voxels : 0.0;
  return result;
}

// Builds batch `index` of the whole run (epoch-major): the epoch's shuffled samples, each with
// its augmentation drawn from (seed, epoch, position). Thread-safe: reads only.
BatchPrefetcher::Producer BatchProducer(const SegNetConfig& net_config,
                                        const SegBatchBuilder& builder,
                                        const std::vector<SegSample>& samples,
                                        const std::vector<std::vector<int64_t>>& orders,
                                        const SegTrainConfig& config, int64_t per_epoch) {
  return [&, per_epoch](int64_t index) {
    const int64_t n = static_cast<int64_t>(samples.size());
    const int64_t epoch = index / per_epoch, start = (index % per_epoch) * config.batch_size;
    std::vector<SegSample> part;
    std::vector<SegAugment> augments;
    for (int64_t pos = start; pos < std::min(n, start + config.batch_size); ++pos) {
      part.push_back(samples[orders[epoch][pos]]);
      if (config.augment) {
        augments.push_back(DrawAugment(config.seed, epoch, pos, net_config.is_3d(),
                                       net_config.patch, config.augment_intensity));
      }
    }
    return builder.Build(part, augments);
  };
}

// A training batch whose CPU tensors alias the SegBatch they keep alive.
TrainingBatch ToTrainingBatch(SegBatch built) {
  auto batch = std::make_shared<SegBatch>(std::move(built));
  auto keep = [batch](void*) {};
  TrainingBatch out;
  out.input = torch::from_blob(batch->input.data(), batch->input_shape, keep, torch::kFloat32);
  out.target = torch::from_blob(batch->target.data(), batch->target_shape, keep, torch::kUInt8);
  out.terms = batch->labelled;
  return out;
}

// The local training epochs, with batches built by `config.num_workers` threads; a batch that
// augmentation left without a labelled voxel is skipped.
LocalTrainingStats RunEpochs(Network& net, const SegNetConfig& net_config,
                             const SegBatchBuilder& builder, const std::vector<SegSample>& samples,
                             const SegTrainConfig& config, torch::Device device) {
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t per_epoch = (n + config.batch_size - 1) / config.batch_size;
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < config.epochs; ++e) orders.push_back(EpochOrder(n, e, config.seed));
  BatchPrefetcher prefetcher(
      per_epoch * config.epochs, config.num_workers, 2 * std::max(1, config.num_workers),
      BatchProducer(net_config, builder, samples, orders, config, per_epoch));
  auto batches = [&prefetcher](int, int64_t) { return ToTrainingBatch(prefetcher.Next()); };
  // The masked mean cross-entropy over the batch's labelled voxels.
  auto loss = [](const torch::Tensor& logits, const TrainingBatch& batch) {
    return SummedCrossEntropy(logits, batch.target.to(torch::kLong)) /
           static_cast<double>(batch.terms);
  };
  LocalTrainingOptions options;
  options.epochs = config.epochs;
  options.batches_per_epoch = per_epoch;
  options.learning_rate = config.learning_rate;
  options.proximal_mu = config.proximal_mu;
  options.device = device;
  options.autocast = config.mixed_precision;
  options.progress = config.progress;
  return TrainLocally(net, options, batches, loss);
}

absl::StatusOr<SegTrainResult> TrainOnDevice(const TensorSet& global,
                                             const std::vector<SegmentationExample>& examples,
                                             const SegTrainConfig& config, torch::Device device) {
  SCV_ASSIGN_OR_RETURN(SegNetConfig net_config,
                       ParseSegNetConfig(config.model, config.model_config_json));
  SCV_RETURN_IF_ERROR(ValidateSegExamples(net_config, examples));
  const SegBatchBuilder builder = MakeBuilder(net_config, examples);
  const std::vector<SegSample> samples = builder.LabelledSamples();
  if (samples.empty()) {
    return absl::InvalidArgumentError("no labelled slice or patch in the examples");
  }
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                       LoadSegmentationNetwork(net_config, global, device));
  SegTrainResult result;
  result.num_samples = static_cast<int64_t>(samples.size());
  SegTrainMetrics& m = result.metrics;
  m.epochs = config.epochs;
  m.device = device.is_cuda() ? "cuda" : "cpu";
  m.mixed_precision = config.mixed_precision && device.is_cuda();
  const SegLossResult start = MeanLoss(*net, net_config, builder, samples, device);
  m.loss_start = start.loss;
  m.labelled_voxels = start.labelled_voxels;
  const LocalTrainingStats stats = RunEpochs(*net, net_config, builder, samples, config, device);
  if (stats.cancelled) return absl::CancelledError(config.progress->cancel_reason());
  m.train_seconds = stats.seconds;
  m.steps = stats.steps;
  m.train_loss_first_epoch = stats.first_epoch_loss;
  m.train_loss_last_epoch = stats.last_epoch_loss;
  if (m.train_seconds > 0.0) {
    m.samples_per_second =
        static_cast<double>(result.num_samples) * config.epochs / m.train_seconds;
    m.slices_per_second = m.samples_per_second * static_cast<double>(builder.SlicesPerSample());
  }
  m.loss_end = MeanLoss(*net, net_config, builder, samples, device).loss;
  SCV_ASSIGN_OR_RETURN(result.weights, ExportTrained(*net, m.loss_end));
  return result;
}

}  // namespace

absl::StatusOr<TensorSet> InitSegmentationModel(absl::string_view model,
                                                absl::string_view config_json, uint64_t seed) {
  return Guarded("InitSegmentationModel", [&]() -> absl::StatusOr<TensorSet> {
    SCV_RETURN_IF_ERROR(SegNetKindFromName(model).status());
    absl::MutexLock lock(&TorchGeneratorMutex());
    torch::manual_seed(seed);
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                         ModelRegistry::Default().Create(model, config_json));
    return ExportState(*net);
  });
}

absl::StatusOr<SegTrainResult> TrainSegmentation(const TensorSet& global,
                                                 const std::vector<SegmentationExample>& examples,
                                                 const SegTrainConfig& config) {
  return Guarded("TrainSegmentation", [&]() -> absl::StatusOr<SegTrainResult> {
    SCV_RETURN_IF_ERROR(ValidateSegTrainConfig(config));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(config.device));
    return TrainOnDevice(global, examples, config, device);
  });
}

absl::StatusOr<SegLossResult> EvaluateSegmentationLoss(
    const TensorSet& weights, absl::string_view model, absl::string_view config_json,
    const std::vector<SegmentationExample>& examples, absl::string_view device_name) {
  return Guarded("EvaluateSegmentationLoss", [&]() -> absl::StatusOr<SegLossResult> {
    SCV_ASSIGN_OR_RETURN(SegNetConfig config, ParseSegNetConfig(model, config_json));
    SCV_RETURN_IF_ERROR(ValidateSegExamples(config, examples));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(device_name));
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                         LoadSegmentationNetwork(config, weights, device));
    const SegBatchBuilder builder = MakeBuilder(config, examples);
    return MeanLoss(*net, config, builder, builder.LabelledSamples(), device);
  });
}

}  // namespace scancov::nn
