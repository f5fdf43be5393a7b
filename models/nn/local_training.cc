// The tabular family in one LibTorch translation unit (each costs ~35 s and 1.5 GB to compile):
// its networks (tabular_models.h) and their local training and evaluation (local_training.h).
#include "models/nn/local_training.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "models/nn/dp_sgd.h"
#include "models/nn/local_trainer.h"
#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/state_dict.h"
#include "models/nn/tabular_models.h"
#include "models/nn/torch_runtime.h"

namespace scancov::nn {
namespace {

absl::Status CheckRowsOf(const std::vector<int64_t>& shape, int64_t input_dim,
                         absl::string_view model) {
  if (shape.size() == 2 && shape[0] >= 0 && shape[1] == input_dim) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(model, ": expected input [N, ", input_dim,
                                                 "], got ", protocol::ShapeString(shape)));
}

absl::StatusOr<std::shared_ptr<Network>> MakeLogistic(absl::string_view config_json) {
  SCV_ASSIGN_OR_RETURN(TabularNetConfig config, ParseTabularNetConfig(config_json));
  if (!config.hidden.empty() || config.dropout != 0.0) {
    return absl::InvalidArgumentError(
        "logistic: takes no \"hidden\" layers and no \"dropout\" (use severity_mlp)");
  }
  return std::make_shared<LogisticRegression>(config);
}

absl::StatusOr<std::shared_ptr<Network>> MakeSeverityMlp(absl::string_view config_json) {
  SCV_ASSIGN_OR_RETURN(TabularNetConfig config, ParseTabularNetConfig(config_json));
  if (config.hidden.empty()) {
    return absl::InvalidArgumentError(
        "severity_mlp: needs at least one \"hidden\" layer (use logistic for none)");
  }
  return std::make_shared<SeverityMlp>(config);
}

}  // namespace

LogisticRegression::LogisticRegression(const TabularNetConfig& config)
    : Network("LogisticRegression"), input_dim_(config.input_dim) {
  linear_ = register_module("linear", torch::nn::Linear(config.input_dim, 1));
}

torch::Tensor LogisticRegression::forward(const torch::Tensor& input) {
  return linear_->forward(input).squeeze(-1);
}

absl::Status LogisticRegression::CheckInputShape(const std::vector<int64_t>& shape) const {
  return CheckRowsOf(shape, input_dim_, "logistic");
}

SeverityMlp::SeverityMlp(const TabularNetConfig& config)
    : Network("SeverityMlp"), input_dim_(config.input_dim) {
  torch::nn::Sequential body;
  int64_t width = config.input_dim;
  for (int64_t hidden : config.hidden) {
    body->push_back(torch::nn::Linear(width, hidden));
    if (config.batch_norm) body->push_back(torch::nn::BatchNorm1d(hidden));
    body->push_back(torch::nn::ReLU());
    // Always present (identity at p = 0) so that tensor names do not depend on the dropout
    // rate: sites that train with different rates still share one weight layout.
    body->push_back(torch::nn::Dropout(config.dropout));
    width = hidden;
  }
  body_ = register_module("body", body);
  head_ = register_module("head", torch::nn::Linear(width, 1));
}

torch::Tensor SeverityMlp::forward(const torch::Tensor& input) {
  return head_->forward(body_->forward(input)).squeeze(-1);
}

absl::Status SeverityMlp::CheckInputShape(const std::vector<int64_t>& shape) const {
  return CheckRowsOf(shape, input_dim_, "severity_mlp");
}

void RegisterTabularModels(ModelRegistry* registry) {
  // Both names are fresh in a new registry, so Register cannot fail here.
  registry->Register("logistic", MakeLogistic).IgnoreError();
  registry->Register("severity_mlp", MakeSeverityMlp).IgnoreError();
}

namespace {

using protocol::TensorSet;

// Rows per forward pass when predicting, so that memory stays bounded on large tables.
constexpr int64_t kPredictBatch = 8192;

// A network of `model` fitted to `data`, on `device`, holding `weights`. The caller holds
// TorchGeneratorMutex() (construction draws from the default generator).
absl::StatusOr<std::shared_ptr<Network>> LoadNetwork(absl::string_view model,
                                                     absl::string_view config_json,
                                                     const TabularData& data,
                                                     const TensorSet& weights,
                                                     torch::Device device) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                       ModelRegistry::Default().Create(model, config_json));
  SCV_RETURN_IF_ERROR(net->CheckInputShape({data.rows, data.cols}));
  SCV_RETURN_IF_ERROR(protocol::CheckAllFinite(weights));
  net->to(device);
  SCV_RETURN_IF_ERROR(ImportState(weights, net.get()));
  return net;
}

// Views the features as [rows, cols] and the labels as [rows], copied onto `device` (on the
// CPU they alias `data`, which outlives them and is never written).
torch::Tensor Features(const TabularData& data, torch::Device device) {
  auto* x = const_cast<float*>(data.x.data());
  return torch::from_blob(x, {data.rows, data.cols}, torch::kFloat32).to(device);
}

torch::Tensor Labels(const TabularData& data, torch::Device device) {
  auto* y = const_cast<float*>(data.y.data());
  return torch::from_blob(y, {data.rows}, torch::kFloat32).to(device);
}

// Logits for every row, in eval mode, as doubles on the CPU.
std::vector<double> PredictLogits(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.eval();
  std::vector<double> logits;
  logits.reserve(x.size(0));
  for (int64_t start = 0; start < x.size(0); start += kPredictBatch) {
    const int64_t length = std::min(kPredictBatch, x.size(0) - start);
    torch::Tensor out =
        net.forward(x.narrow(0, start, length)).to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = out.data_ptr<double>();
    logits.insert(logits.end(), p, p + out.numel());
  }
  return logits;
}

// Mean binary cross-entropy from logits, in the overflow-free form
// max(l, 0) - l * y + log(1 + exp(-|l|)).
double MeanBce(const std::vector<double>& logits, const std::vector<float>& y) {
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double l = logits[i];
    total += std::max(l, 0.0) - l * y[i] + std::log1p(std::exp(-std::abs(l)));
  }
  return logits.empty() ? 0.0 : total / static_cast<double>(logits.size());
}

// 0..n-1 in an order drawn from `rng` (Fisher-Yates; the same on every platform). One generator
// runs through all the epochs (unlike EpochOrder), as it always has for the tabular models.
torch::Tensor ShuffledRows(int64_t n, Random* rng) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng->Next() % static_cast<uint64_t>(i + 1)]);
  }
  return torch::tensor(order, torch::kInt64);
}

// [start, end) of each batch; a last batch of one row joins the previous batch.
std::vector<std::pair<int64_t, int64_t>> BatchBounds(int64_t n, int64_t batch_size) {
  std::vector<std::pair<int64_t, int64_t>> bounds;
  for (int64_t start = 0; start < n; start += batch_size) {
    bounds.emplace_back(start, std::min(n, start + batch_size));
  }
  if (bounds.size() > 1 && bounds.back().second - bounds.back().first == 1) {
    bounds.pop_back();
    bounds.back().second = n;
  }
  return bounds;
}

// BatchNorm in training mode needs at least two rows per batch.
bool HasBatchNorm(const Network& net) {
  for (const auto& module : net.modules(/*include_self=*/false)) {
    if (module->as<torch::nn::BatchNorm1d>() != nullptr ||
        module->as<torch::nn::BatchNorm2d>() != nullptr ||
        module->as<torch::nn::BatchNorm3d>() != nullptr) {
      return true;
    }
  }
  return false;
}

// config.epochs epochs over (x, y), each in a new shuffled order, on the mean binary
// cross-entropy of the logits.
LocalTrainingStats RunEpochs(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                             const TrainConfig& config) {
  const auto bounds = BatchBounds(x.size(0), config.batch_size);
  Random rng(config.seed);
  torch::Tensor order;
  auto batches = [&](int epoch, int64_t index) {
    if (index == 0) order = ShuffledRows(x.size(0), &rng).to(x.device());
    const auto [start, end] = bounds[index];
    const torch::Tensor rows = order.narrow(0, start, end - start);
    return TrainingBatch{x.index_select(0, rows), y.index_select(0, rows), end - start};
  };
  auto loss = [](const torch::Tensor& logits, const TrainingBatch& batch) {
    return torch::nn::functional::binary_cross_entropy_with_logits(logits, batch.target);
  };
  LocalTrainingOptions options;
  options.epochs = config.epochs;
  options.batches_per_epoch = static_cast<int64_t>(bounds.size());
  options.learning_rate = config.learning_rate;
  options.proximal_mu = config.proximal_mu;
  options.device = x.device();
  options.progress = config.progress;
  return TrainLocally(net, options, batches, loss);
}

absl::StatusOr<TrainResult> TrainLocked(const TensorSet& global, const TabularData& train,
                                        const TrainConfig& config, torch::Device device) {
  torch::manual_seed(config.seed);
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                       LoadNetwork(config.model, config.model_config_json, train, global, device));
  if (config.dp_sgd && HasBatchNorm(*net)) {
    return absl::InvalidArgumentError(
        "DP-SGD: the network has BatchNorm, which mixes the rows of a batch, so no row has a "
        "gradient of its own to clip (set \"batch_norm\": false)");
  }
  if (!config.dp_sgd && HasBatchNorm(*net) && (train.rows < 2 || config.batch_size < 2)) {
    return absl::InvalidArgumentError(
        "a network with BatchNorm needs at least 2 rows and batch_size >= 2");
  }
  const torch::Tensor x = Features(train, device);
  const torch::Tensor y = Labels(train, device);
  TrainResult result;
  result.num_samples = train.rows;
  result.metrics.epochs = config.epochs;
  result.metrics.device = device.is_cuda() ? "cuda" : "cpu";
  result.metrics.loss_start = MeanBce(PredictLogits(*net, x), train.y);
  const LocalTrainingStats stats =
      config.dp_sgd ? RunDpSgdEpochs(*net, x, y, config) : RunEpochs(*net, x, y, config);
  if (stats.cancelled) return absl::CancelledError(config.progress->cancel_reason());
  result.metrics.steps = stats.steps;
  result.metrics.loss_end = MeanBce(PredictLogits(*net, x), train.y);
  SCV_ASSIGN_OR_RETURN(result.weights, ExportTrained(*net, result.metrics.loss_end));
  return result;
}

}  // namespace

std::vector<std::string> RegisteredModels() { return ModelRegistry::Default().Names(); }

absl::StatusOr<TensorSet> InitModel(absl::string_view model, absl::string_view config_json,
                                    uint64_t seed) {
  return Guarded("InitModel", [&]() -> absl::StatusOr<TensorSet> {
    absl::MutexLock lock(&TorchGeneratorMutex());
    torch::manual_seed(seed);
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                         ModelRegistry::Default().Create(model, config_json));
    return ExportState(*net);
  });
}

absl::StatusOr<TrainResult> TrainLocal(const TensorSet& global, const TabularData& train,
                                       const TrainConfig& config) {
  return Guarded("TrainLocal", [&]() -> absl::StatusOr<TrainResult> {
    SCV_RETURN_IF_ERROR(CheckTrainingSettings("TrainConfig", config.epochs, config.batch_size,
                                              config.learning_rate, config.proximal_mu));
    if (config.dp_sgd) SCV_RETURN_IF_ERROR(CheckDpSgdSettings(*config.dp_sgd));
    SCV_RETURN_IF_ERROR(ValidateTabularData(train));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(config.device));
    absl::MutexLock lock(&TorchGeneratorMutex());
    return TrainLocked(global, train, config, device);
  });
}

absl::StatusOr<EvalResult> Evaluate(const TensorSet& weights, const TabularData& data,
                                    absl::string_view model, absl::string_view config_json,
                                    absl::string_view device_name) {
  return Guarded("Evaluate", [&]() -> absl::StatusOr<EvalResult> {
    SCV_RETURN_IF_ERROR(ValidateTabularData(data));
    SCV_ASSIGN_OR_RETURN(torch::Device device, ResolveTorchDevice(device_name));
    std::shared_ptr<Network> net;
    {
      absl::MutexLock lock(&TorchGeneratorMutex());
      SCV_ASSIGN_OR_RETURN(net, LoadNetwork(model, config_json, data, weights, device));
    }
    const std::vector<double> logits = PredictLogits(*net, Features(data, device));
    EvalResult result;
    result.num_samples = data.rows;
    result.loss = MeanBce(logits, data.y);
    int64_t correct = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      result.probabilities.push_back(1.0 / (1.0 + std::exp(-logits[i])));
      correct += (logits[i] >= 0.0) == (data.y[i] == 1.0f) ? 1 : 0;
    }
    result.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows);
    return result;
  });
}

}  // namespace scancov::nn
