#include "models/nn/severity_encoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "models/nn/local_trainer.h"
#include "models/nn/model_registry.h"
#include "models/nn/slice_encoder.h"
#include "models/nn/state_dict.h"
#include "models/nn/torch_runtime.h"

namespace scancov::nn {
namespace {

using protocol::TensorSet;
namespace F = torch::nn::functional;

// Slices per forward pass when measuring the loss or embedding.
constexpr int64_t kEvalBatch = 32;

absl::Status ValidateTrainConfig(const SeverityTrainConfig& config) {
  return CheckTrainingSettings("SeverityTrainConfig", config.epochs, config.batch_size,
                               config.learning_rate, config.proximal_mu);
}

// The slices of every labelled scan, each with its scan's label (the multiple-instance
// simplification of the header).
struct TrainingSlices {
  int64_t channels = 0, size = 0;
  std::vector<float> values;  // [n, channels, size, size]
  std::vector<float> labels;  // [n], 0 or 1
  int64_t scans = 0, severe = 0, unlabelled = 0;

  int64_t count() const { return static_cast<int64_t>(labels.size()); }
  torch::Tensor Inputs() {
    return torch::from_blob(values.data(), {count(), channels, size, size}, torch::kFloat32);
  }
  torch::Tensor Targets() { return torch::from_blob(labels.data(), {count()}, torch::kFloat32); }
};

// Every scan is checked (unlabelled ones too, so a bad export is caught at once); only labelled
// ones are prepared.
absl::StatusOr<TrainingSlices> PrepareTraining(const std::vector<SeverityScan>& scans,
                                               const SliceEncoderConfig& config) {
  TrainingSlices out;
  out.channels = config.in_channels();
  out.size = config.slice_size;
  for (size_t i = 0; i < scans.size(); ++i) {
    const SeverityScan& scan = scans[i];
    const std::string where = absl::StrCat("scan ", i);
    SCV_RETURN_IF_ERROR(Annotate(ValidateSeverityScan(scan), where));
    if (scan.label < -1 || scan.label > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": label ", scan.label, " is not 1, 0 or -1 (unknown)"));
    }
    if (scan.label == -1) {
      ++out.unlabelled;
      continue;
    }
    absl::StatusOr<SeveritySlices> slices = PrepareSeveritySlices(scan, config);
    if (!slices.ok()) return Annotate(slices.status(), where);
    out.values.insert(out.values.end(), slices->values.begin(), slices->values.end());
    out.labels.insert(out.labels.end(), slices->count(), static_cast<float>(scan.label));
    ++out.scans;
    if (scan.label == 1) ++out.severe;
  }
  if (out.scans == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no labelled scan to train on (", out.unlabelled, " of unknown outcome)"));
  }
  return out;
}

// Prepared slices must be the config's: channels and size.
absl::Status CheckPrepared(const SeveritySlices& slices, const SliceEncoderConfig& config,
                           size_t i) {
  if (slices.channels != config.in_channels() || slices.size != config.slice_size ||
      slices.values.size() != static_cast<size_t>(slices.count()) * slices.SliceStride()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scan ", i, ": prepared slices are ", slices.channels, " x ", slices.size,
                     "^2, the config ", config.in_channels(), " x ", config.slice_size, "^2"));
  }
  return absl::OkStatus();
}

// Prepared scans with their labels.
struct PreparedScans {
  const std::vector<const SeveritySlices*>& slices;
  const std::vector<int>& labels;
};

absl::StatusOr<TrainingSlices> PrepareTraining(const PreparedScans& scans,
                                               const SliceEncoderConfig& config) {
  if (scans.slices.size() != scans.labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(scans.slices.size(), " prepared scans, ", scans.labels.size(), " labels"));
  }
  TrainingSlices out;
  out.channels = config.in_channels();
  out.size = config.slice_size;
  for (size_t i = 0; i < scans.slices.size(); ++i) {
    const SeveritySlices& slices = *scans.slices[i];
    const int label = scans.labels[i];
    SCV_RETURN_IF_ERROR(CheckPrepared(slices, config, i));
    if (label < -1 || label > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("scan ", i, ": label ", label, " is not 1, 0 or -1 (unknown)"));
    }
    if (label == -1) {
      ++out.unlabelled;
      continue;
    }
    out.values.insert(out.values.end(), slices.values.begin(), slices.values.end());
    out.labels.insert(out.labels.end(), slices.count(), static_cast<float>(label));
    ++out.scans;
    if (label == 1) ++out.severe;
  }
  if (out.scans == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no labelled scan to train on (", out.unlabelled, " of unknown outcome)"));
  }
  return out;
}

// The encoder of `config` on `device`, holding `weights`.
absl::StatusOr<std::shared_ptr<SliceEncoder>> LoadEncoder(const SliceEncoderConfig& config,
                                                          const TensorSet& weights,
                                                          torch::Device device) {
  SCV_RETURN_IF_ERROR(protocol::CheckAllFinite(weights));
  std::shared_ptr<SliceEncoder> net;
  {
    // Construction draws the (discarded) default initialisation from the shared generator.
    absl::MutexLock lock(&TorchGeneratorMutex());
    net = std::make_shared<SliceEncoder>(config);
  }
  net->to(device);
  SCV_RETURN_IF_ERROR(ImportState(weights, net.get()));
  return net;
}

torch::Tensor SummedBce(const torch::Tensor& logits, const torch::Tensor& targets) {
  return F::binary_cross_entropy_with_logits(
      logits, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum));
}

// Mean binary cross-entropy over all slices, in eval mode.
double MeanLoss(SliceEncoder& net, TrainingSlices& slices, torch::Device device) {
  torch::NoGradGuard no_grad;
  net.eval();
  const torch::Tensor inputs = slices.Inputs(), targets = slices.Targets();
  const int64_t n = slices.count();
  double total = 0.0;
  for (int64_t start = 0; start < n; start += kEvalBatch) {
    const int64_t len = std::min(kEvalBatch, n - start);
    total += SummedBce(net.forward(inputs.narrow(0, start, len).to(device)),
                       targets.narrow(0, start, len).to(device))
                 .item<double>();
  }
  return total / static_cast<double>(n);
}

// The local training epochs over the slices, each epoch in its own shuffled order, on the mean
// binary cross-entropy of the slice logits.
LocalTrainingStats RunEpochs(SliceEncoder& net, TrainingSlices& slices,
                             const SeverityTrainConfig& config, torch::Device device) {
  const torch::Tensor inputs = slices.Inputs(), targets = slices.Targets();
  const int64_t n = slices.count();
  std::vector<int64_t> order;
  auto batches = [&](int epoch, int64_t index) {
    if (index == 0) order = EpochOrder(n, epoch, config.seed);
    const int64_t start = index * config.batch_size;
    const int64_t len = std::min<int64_t>(config.batch_size, n - start);
    const torch::Tensor rows = torch::from_blob(order.data() + start, {len}, torch::kLong);
    return TrainingBatch{inputs.index_select(0, rows), targets.index_select(0, rows), len};
  };
  auto loss = [](const torch::Tensor& logits, const TrainingBatch& batch) {
    return SummedBce(logits, batch.target) / static_cast<double>(batch.terms);
  };
  LocalTrainingOptions options;
  options.epochs = config.epochs;
  options.batches_per_epoch = (n + config.batch_size - 1) / config.batch_size;
  options.learning_rate = config.learning_rate;
  options.proximal_mu = config.proximal_mu;
  options.device = device;
  options.progress = config.progress;
  return TrainLocally(net, options, batches, loss);
}

// `Scans`: std::vector<SeverityScan> or PreparedScans.
template <typename Scans>
absl::StatusOr<SeverityTrainResult> TrainOnDevice(const TensorSet& global, const Scans& scans,
                                                  const SeverityTrainConfig& config,
                                                  torch::Device device) {
  SCV_ASSIGN_OR_RETURN(SliceEncoderConfig net_config,
                       ParseSliceEncoderConfig(config.model_config_json));
  SCV_ASSIGN_OR_RETURN(TrainingSlices slices, PrepareTraining(scans, net_config));
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<SliceEncoder> net, LoadEncoder(net_config, global, device));
  SeverityTrainResult result;
  result.num_samples = slices.count();
  SeverityTrainMetrics& m = result.metrics;
  m.epochs = config.epochs;
  m.scans = slices.scans;
  m.severe_scans = slices.severe;
  m.unlabelled_scans = slices.unlabelled;
  m.slices = slices.count();
  m.device = device.is_cuda() ? "cuda" : "cpu";
  m.loss_start = MeanLoss(*net, slices, device);
  const LocalTrainingStats stats = RunEpochs(*net, slices, config, device);
  if (stats.cancelled) return absl::CancelledError(config.progress->cancel_reason());
  m.train_seconds = stats.seconds;
  m.steps = stats.steps;
  m.train_loss_first_epoch = stats.first_epoch_loss;
  m.train_loss_last_epoch = stats.last_epoch_loss;
  m.loss_end = MeanLoss(*net, slices, device);
  SCV_ASSIGN_OR_RETURN(result.weights, ExportTrained(*net, m.loss_end));
  return result;
}

// Mean (and maximum) of the slice embeddings of one prepared scan, in eval mode.
std::vector<float> PooledEmbedding(SliceEncoder& net, const SeveritySlices& slices,
                                   torch::Device device) {
  torch::NoGradGuard no_grad;
  net.eval();
  // from_blob needs a mutable pointer; the values are only read.
  const torch::Tensor inputs = torch::from_blob(
      const_cast<float*>(slices.values.data()),
      {slices.count(), slices.channels, slices.size, slices.size}, torch::kFloat32);
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < slices.count(); start += kEvalBatch) {
    const int64_t len = std::min(kEvalBatch, slices.count() - start);
    parts.push_back(net.Embed(inputs.narrow(0, start, len).to(device)).to(torch::kCPU));
  }
  const torch::Tensor embeddings = torch::cat(parts, 0);  // [slices, embedding_dim]
  torch::Tensor pooled = embeddings.mean(0);
  if (net.config().pooling == SeverityPooling::kMeanMax) {
    pooled = torch::cat({pooled, std::get<0>(embeddings.max(0))}, 0);
  }
  pooled = pooled.to(torch::kFloat32).contiguous();
  return std::vector<float>(pooled.data_ptr<float>(), pooled.data_ptr<float>() + pooled.numel());
}

// The pooled embedding of each scan (the network built once). A failing scan is named by its
// index when there are several.
absl::StatusOr<std::vector<std::vector<float>>> EmbedAll(
    const TensorSet& weights, absl::string_view config_json,
    const std::vector<const SeverityScan*>& scans, absl::string_view device_name) {
  SCV_ASSIGN_OR_RETURN(SliceEncoderConfig config, ParseSliceEncoderConfig(config_json));
  SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(device_name));
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<SliceEncoder> net, LoadEncoder(config, weights, device));
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < scans.size(); ++i) {
    absl::StatusOr<SeveritySlices> slices = PrepareSeveritySlices(*scans[i], config);
    if (!slices.ok()) {
      return scans.size() == 1 ? slices.status()
                               : Annotate(slices.status(), absl::StrCat("scan ", i));
    }
    out.push_back(PooledEmbedding(*net, *slices, device));
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<float>>> EmbedPrepared(
    const TensorSet& weights, absl::string_view config_json,
    const std::vector<const SeveritySlices*>& scans, absl::string_view device_name) {
  SCV_ASSIGN_OR_RETURN(SliceEncoderConfig config, ParseSliceEncoderConfig(config_json));
  for (size_t i = 0; i < scans.size(); ++i)
    SCV_RETURN_IF_ERROR(CheckPrepared(*scans[i], config, i));
  SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(device_name));
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<SliceEncoder> net, LoadEncoder(config, weights, device));
  std::vector<std::vector<float>> out;
  for (const SeveritySlices* slices : scans) out.push_back(PooledEmbedding(*net, *slices, device));
  return out;
}

}  // namespace

absl::StatusOr<TensorSet> InitSeverityEncoder(absl::string_view config_json, uint64_t seed) {
  return Guarded("InitSeverityEncoder", [&]() -> absl::StatusOr<TensorSet> {
    SCV_RETURN_IF_ERROR(ParseSliceEncoderConfig(config_json).status());
    absl::MutexLock lock(&TorchGeneratorMutex());
    torch::manual_seed(seed);
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                         ModelRegistry::Default().Create("slice_encoder", config_json));
    return ExportState(*net);
  });
}

absl::StatusOr<SeverityTrainResult> TrainSeverityEncoder(const TensorSet& global,
                                                         const std::vector<SeverityScan>& scans,
                                                         const SeverityTrainConfig& config) {
  return Guarded("TrainSeverityEncoder", [&]() -> absl::StatusOr<SeverityTrainResult> {
    SCV_RETURN_IF_ERROR(ValidateTrainConfig(config));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(config.device));
    return TrainOnDevice(global, scans, config, device);
  });
}

absl::StatusOr<SeverityTrainResult> TrainSeverityEncoder(
    const TensorSet& global, const std::vector<const SeveritySlices*>& scans,
    const std::vector<int>& labels, const SeverityTrainConfig& config) {
  return Guarded("TrainSeverityEncoder", [&]() -> absl::StatusOr<SeverityTrainResult> {
    SCV_RETURN_IF_ERROR(ValidateTrainConfig(config));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(config.device));
    return TrainOnDevice(global, PreparedScans{scans, labels}, config, device);
  });
}

absl::StatusOr<std::vector<std::vector<float>>> EmbedPreparedScans(
    const TensorSet& weights, absl::string_view config_json,
    const std::vector<const SeveritySlices*>& scans, absl::string_view device_name) {
  return Guarded("EmbedPreparedScans",
                 [&] { return EmbedPrepared(weights, config_json, scans, device_name); });
}

absl::StatusOr<std::vector<std::vector<float>>> EmbedScans(const TensorSet& weights,
                                                           absl::string_view config_json,
                                                           const std::vector<SeverityScan>& scans,
                                                           absl::string_view device_name) {
  std::vector<const SeverityScan*> pointers;
  for (const SeverityScan& scan : scans) pointers.push_back(&scan);
  return Guarded("EmbedScans",
                 [&] { return EmbedAll(weights, config_json, pointers, device_name); });
}

absl::StatusOr<std::vector<float>> EmbedScan(const TensorSet& weights,
                                             absl::string_view config_json,
                                             const SeverityScan& scan,
                                             absl::string_view device_name) {
  return Guarded("EmbedScan", [&]() -> absl::StatusOr<std::vector<float>> {
    SCV_ASSIGN_OR_RETURN(auto embeddings, EmbedAll(weights, config_json, {&scan}, device_name));
    return std::move(embeddings.front());
  });
}

}  // namespace scancov::nn
