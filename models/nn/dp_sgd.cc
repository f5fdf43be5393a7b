#include "models/nn/dp_sgd.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace scancov::nn {
namespace {

// n standard normals from the settings' source, or a thrown error (Guarded makes it a Status).
std::vector<double> Normals(int64_t n, const DpSgdSettings& settings) {
  std::vector<double> z(static_cast<size_t>(n));
  const absl::Status filled = settings.standard_normal(absl::MakeSpan(z));
  if (!filled.ok()) {
    throw std::runtime_error(absl::StrCat("DP-SGD: the noise source failed: ", filled.ToString()));
  }
  return z;
}

}  // namespace

absl::Status CheckDpSgdSettings(const DpSgdSettings& s) {
  auto invalid = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("DpSgdSettings: ", why));
  };
  if (!(std::isfinite(s.clip_norm) && s.clip_norm > 0.0)) {
    return invalid("clip_norm must be finite and > 0");
  }
  if (!(std::isfinite(s.noise_multiplier) && s.noise_multiplier >= 0.0)) {
    return invalid("noise_multiplier must be finite and >= 0");
  }
  if (!(s.sample_rate > 0.0 && s.sample_rate <= 1.0)) {
    return invalid("sample_rate must be in (0, 1]");
  }
  if (s.steps_per_epoch < 1) return invalid("steps_per_epoch must be >= 1");
  if (!s.standard_normal) return invalid("standard_normal (the noise source) is required");
  return absl::OkStatus();
}

std::vector<int64_t> PoissonRows(int64_t n, const DpSgdSettings& settings) {
  const std::vector<double> z = Normals(n, settings);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i) {
    // Phi(z) = erfc(-z / sqrt(2)) / 2, uniform on (0, 1) for a standard normal z.
    if (0.5 * std::erfc(-z[i] / std::sqrt(2.0)) < settings.sample_rate) rows.push_back(i);
  }
  return rows;
}

ClippedGradients ClippedGradientSum(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                    double clip_norm) {
  const std::vector<torch::Tensor> params = net.parameters();
  const auto doubles = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  ClippedGradients out;
  for (const torch::Tensor& p : params) out.sum.push_back(torch::zeros_like(p.detach()));
  out.loss_sum = torch::zeros({}, doubles);
  std::vector<torch::Tensor> norms;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const torch::Tensor logit = net.forward(x.narrow(0, i, 1));
    const torch::Tensor loss =
        torch::nn::functional::binary_cross_entropy_with_logits(logit, y.narrow(0, i, 1));
    const std::vector<torch::Tensor> grads =
        torch::autograd::grad({loss}, params, /*grad_outputs=*/{}, /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    torch::Tensor squares = torch::zeros({}, doubles);
    for (const torch::Tensor& g : grads) {
      if (g.defined()) squares = squares + g.to(torch::kFloat64).pow(2).sum();
    }
    const torch::Tensor norm = squares.sqrt();
    // Kept on the device (no read-back per row): min(1, C / (norm + 1e-6)).
    const torch::Tensor factor = (clip_norm / (norm + 1e-6)).clamp_max(1.0);
    for (size_t k = 0; k < grads.size(); ++k) {
      if (grads[k].defined()) out.sum[k].add_(grads[k] * factor.to(grads[k].scalar_type()));
    }
    norms.push_back(norm);
    out.loss_sum = out.loss_sum + loss.detach().to(torch::kFloat64);
  }
  out.norms = norms.empty() ? torch::zeros({0}, doubles) : torch::stack(norms);
  return out;
}

void SetNoisyGradients(const std::vector<torch::Tensor>& params, const ClippedGradients& clipped,
                       const DpSgdSettings& settings, double expected_batch) {
  const double sd = settings.noise_multiplier * settings.clip_norm;
  for (size_t k = 0; k < params.size(); ++k) {
    torch::Tensor p = params[k];
    std::vector<double> z = Normals(p.numel(), settings);
    const torch::Tensor noise =
        torch::from_blob(z.data(), p.sizes(), torch::kFloat64).to(p.device()) * sd;
    const torch::Tensor sum = clipped.sum[k].to(torch::kFloat64);
    p.mutable_grad() = ((sum + noise) / expected_batch).to(p.scalar_type());
  }
}

LocalTrainingStats RunDpSgdEpochs(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                  const TrainConfig& config) {
  const DpSgdSettings& dp = *config.dp_sgd;
  const int64_t n = x.size(0);
  const double expected_batch = dp.sample_rate * static_cast<double>(n);
  auto batches = [&](int, int64_t) {
    const std::vector<int64_t> rows = PoissonRows(n, dp);
    const torch::Tensor index =
        torch::tensor(rows, torch::TensorOptions().dtype(torch::kInt64)).to(x.device());
    return TrainingBatch{x.index_select(0, index), y.index_select(0, index),
                         static_cast<int64_t>(rows.size())};
  };
  // Never called: the private gradient replaces the loss.
  auto no_loss = [](const torch::Tensor& output, const TrainingBatch&) { return output.sum(); };
  LocalTrainingOptions options;
  options.epochs = config.epochs;
  options.batches_per_epoch = dp.steps_per_epoch;
  options.learning_rate = config.learning_rate;
  options.proximal_mu = config.proximal_mu;
  options.device = x.device();
  options.progress = config.progress;
  options.private_gradient = [&](Network& trained, const TrainingBatch& batch) {
    const ClippedGradients clipped =
        ClippedGradientSum(trained, batch.input, batch.target, dp.clip_norm);
    SetNoisyGradients(trained.parameters(), clipped, dp, expected_batch);
    return batch.terms > 0 ? clipped.loss_sum / static_cast<double>(batch.terms) : clipped.loss_sum;
  };
  return TrainLocally(net, options, batches, no_loss);
}

}  // namespace scancov::nn
