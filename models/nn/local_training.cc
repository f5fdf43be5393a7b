#include "models/nn/local_training.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "models/nn/model_registry.h"
#include "models/nn/network.h"
#include "models/nn/state_dict.h"
#include "models/nn/torch_runtime.h"

namespace scancov::nn {
namespace {

using protocol::TensorSet;

// Rows per forward pass when predicting, so that memory stays bounded on large tables.
constexpr int64_t kPredictBatch = 8192;

absl::Status ValidateTrainConfig(const TrainConfig& config) {
  if (config.epochs < 0) return absl::InvalidArgumentError("TrainConfig: epochs must be >= 0");
  if (config.batch_size < 1) {
    return absl::InvalidArgumentError("TrainConfig: batch_size must be >= 1");
  }
  if (!(std::isfinite(config.learning_rate) && config.learning_rate > 0.0)) {
    return absl::InvalidArgumentError("TrainConfig: learning_rate must be finite and > 0");
  }
  if (!(std::isfinite(config.proximal_mu) && config.proximal_mu >= 0.0)) {
    return absl::InvalidArgumentError("TrainConfig: proximal_mu must be finite and >= 0");
  }
  return absl::OkStatus();
}

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

// 0..n-1 in an order drawn from `rng` (Fisher-Yates; the same on every platform).
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

// mu/2 * sum ||p - p_global||^2 over the parameters.
torch::Tensor ProximalTerm(const std::vector<torch::Tensor>& params,
                           const std::vector<torch::Tensor>& global, double mu) {
  torch::Tensor sum;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor term = (params[i] - global[i]).pow(2).sum();
    sum = sum.defined() ? sum + term : term;
  }
  return sum * (mu / 2.0);
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

// Runs config.epochs epochs of Adam over (x, y); returns the number of steps.
int64_t RunEpochs(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                  const TrainConfig& config) {
  std::vector<torch::Tensor> params = net.parameters();
  std::vector<torch::Tensor> global;
  for (const torch::Tensor& p : params) global.push_back(p.detach().clone());
  torch::optim::Adam adam(params, torch::optim::AdamOptions(config.learning_rate));
  Random rng(config.seed);
  const auto bounds = BatchBounds(x.size(0), config.batch_size);
  net.train();
  int64_t steps = 0;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const torch::Tensor order = ShuffledRows(x.size(0), &rng).to(x.device());
    for (const auto& [start, end] : bounds) {
      const torch::Tensor rows = order.narrow(0, start, end - start);
      adam.zero_grad();
      torch::Tensor loss = torch::nn::functional::binary_cross_entropy_with_logits(
          net.forward(x.index_select(0, rows)), y.index_select(0, rows));
      if (config.proximal_mu > 0.0) loss = loss + ProximalTerm(params, global, config.proximal_mu);
      loss.backward();
      adam.step();
      ++steps;
    }
  }
  return steps;
}

absl::StatusOr<TrainResult> TrainLocked(const TensorSet& global, const TabularData& train,
                                        const TrainConfig& config, torch::Device device) {
  torch::manual_seed(config.seed);
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<Network> net,
                       LoadNetwork(config.model, config.model_config_json, train, global, device));
  if (HasBatchNorm(*net) && (train.rows < 2 || config.batch_size < 2)) {
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
  result.metrics.steps = RunEpochs(*net, x, y, config);
  result.metrics.loss_end = MeanBce(PredictLogits(*net, x), train.y);
  SCV_ASSIGN_OR_RETURN(result.weights, ExportState(*net));
  absl::Status finite = protocol::CheckAllFinite(result.weights);
  if (!finite.ok() || !std::isfinite(result.metrics.loss_end)) {
    return absl::InternalError(absl::StrCat("training diverged (lower the learning rate): ",
                                            finite.ok() ? "loss is not finite" : finite.message()));
  }
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
    SCV_RETURN_IF_ERROR(ValidateTrainConfig(config));
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
