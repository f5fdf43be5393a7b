#include "models/nn/local_trainer.h"

#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "models/nn/autocast.h"
#include "models/nn/seg_batches.h"
#include "models/nn/state_dict.h"

namespace scancov::nn {
namespace {

// A CPU input goes to CUDA through pinned memory without blocking, so that the copy overlaps
// the previous step's kernels; anything else is moved (or left) as it is.
torch::Tensor OnDevice(const torch::Tensor& t, torch::Device device) {
  if (device.is_cuda() && t.device().is_cpu()) return t.pin_memory().to(device, true);
  return t.to(device);
}

// One Adam step on `batch`; returns its loss (detached, without the FedProx term).
torch::Tensor Step(Network& net, const LocalTrainingOptions& options, torch::optim::Adam& adam,
                   const std::vector<torch::Tensor>& params,
                   const std::vector<torch::Tensor>& anchor, TrainingBatch batch,
                   const BatchLoss& loss_of) {
  adam.zero_grad();
  batch.input = OnDevice(batch.input, options.device);
  if (options.private_gradient) {
    if (batch.target.defined()) batch.target = batch.target.to(options.device);
    torch::Tensor reported = options.private_gradient(net, batch);
    if (options.proximal_mu > 0.0) ProximalTerm(params, anchor, options.proximal_mu).backward();
    adam.step();
    return reported;
  }
  torch::Tensor output;
  {
    Autocast scope(options.device.type(), options.autocast && options.device.is_cuda());
    output = net.forward(batch.input);
  }
  if (batch.target.defined()) batch.target = batch.target.to(options.device);
  torch::Tensor loss = loss_of(output, batch);
  const torch::Tensor reported = loss.detach();
  if (options.proximal_mu > 0.0) loss = loss + ProximalTerm(params, anchor, options.proximal_mu);
  loss.backward();
  adam.step();
  return reported;
}

}  // namespace

absl::Status CheckTrainingSettings(absl::string_view where, int epochs, int batch_size,
                                   double learning_rate, double proximal_mu) {
  auto invalid = [where](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
  };
  if (epochs < 0) return invalid("epochs must be >= 0");
  if (batch_size < 1) return invalid("batch_size must be >= 1");
  if (!(std::isfinite(learning_rate) && learning_rate > 0.0)) {
    return invalid("learning_rate must be finite and > 0");
  }
  if (!(std::isfinite(proximal_mu) && proximal_mu >= 0.0)) {
    return invalid("proximal_mu must be finite and >= 0");
  }
  return absl::OkStatus();
}

torch::Tensor ProximalTerm(const std::vector<torch::Tensor>& params,
                           const std::vector<torch::Tensor>& anchor, double mu) {
  if (params.empty()) return torch::zeros({});
  // Summed in parameter order from an exact zero, so every family gets the same bits.
  torch::Tensor sum = torch::zeros({}, params.front().options());
  for (size_t i = 0; i < params.size(); ++i) sum = sum + (params[i] - anchor[i]).pow(2).sum();
  return sum * (mu / 2.0);
}

LocalTrainingStats TrainLocally(Network& net, const LocalTrainingOptions& options,
                                const BatchSource& batches, const BatchLoss& loss) {
  const auto clock_start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> params = net.parameters();
  std::vector<torch::Tensor> anchor;  // the global weights, for FedProx
  for (const torch::Tensor& p : params) anchor.push_back(p.detach().clone());
  torch::optim::Adam adam(params, torch::optim::AdamOptions(options.learning_rate));
  net.train();
  LocalTrainingStats stats;
  Progress* progress = options.progress;
  for (int epoch = 0; epoch < options.epochs && !stats.cancelled; ++epoch) {
    // Summed on the device: reading each loss back would wait for every step.
    torch::Tensor epoch_sum = torch::zeros({}, torch::TensorOptions().device(options.device));
    int64_t epoch_steps = 0;
    if (progress != nullptr) {
      progress->SetCount("epoch", epoch, options.epochs);
      progress->SetSubCount("batch", 0, options.batches_per_epoch);
    }
    for (int64_t b = 0; b < options.batches_per_epoch; ++b) {
      if (progress != nullptr && progress->cancelled()) {
        stats.cancelled = true;
        break;
      }
      TrainingBatch batch = batches(epoch, b);
      if (batch.terms > 0 || options.private_gradient) {
        epoch_sum = epoch_sum + Step(net, options, adam, params, anchor, std::move(batch), loss);
        ++epoch_steps;
      }
      if (progress != nullptr) progress->SetSubCount("batch", b + 1, options.batches_per_epoch);
    }
    if (stats.cancelled) break;
    const double mean = epoch_steps > 0 ? epoch_sum.item<double>() / epoch_steps : 0.0;
    if (epoch == 0) stats.first_epoch_loss = mean;
    stats.last_epoch_loss = mean;
    stats.steps += epoch_steps;
  }
  if (progress != nullptr && !stats.cancelled) {
    progress->SetCount("epoch", options.epochs, options.epochs);
  }
  if (options.device.is_cuda()) torch::cuda::synchronize();
  stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count();
  return stats;
}

std::vector<int64_t> EpochOrder(int64_t n, int epoch, uint64_t seed) {
  Random rng(MixSeed(seed, static_cast<uint64_t>(epoch), ~uint64_t{0}));
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Next() % static_cast<uint64_t>(i + 1)]);
  }
  return order;
}

absl::StatusOr<protocol::TensorSet> ExportTrained(const Network& net, double loss_end) {
  absl::StatusOr<protocol::TensorSet> weights = ExportState(net);
  if (!weights.ok()) return weights.status();
  absl::Status finite = protocol::CheckAllFinite(*weights);
  if (!finite.ok() || !std::isfinite(loss_end)) {
    return absl::InternalError(absl::StrCat("training diverged (lower the learning rate): ",
                                            finite.ok() ? "loss is not finite" : finite.message()));
  }
  return weights;
}

}  // namespace scancov::nn
