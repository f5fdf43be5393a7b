// DP-SGD for the tabular networks (internal; includes LibTorch): the pieces of one private step
// (local_training.h, DpSgdSettings, states the algorithm and its guarantee) and the epochs that
// run them through the one training loop (local_trainer.h, PrivateGradient).
//
// Per-example gradients are computed by a loop over the batch's rows, each with its own forward
// and backward pass: exact for any network without BatchNorm (Dropout draws one mask per row, as
// it would in a batch), and cheap enough for the small tabular networks (docs/benchmarks.md). A
// network with BatchNorm is refused by TrainLocal before this runs.
//
// LibTorch errors are thrown, as everywhere inside models/nn; so is a failure of the noise
// source (std::runtime_error "DP-SGD: ..."): TrainLocal runs this under Guarded.
// Not thread-safe (the network).
#ifndef SCANCOV_MODELS_NN_DP_SGD_H_
#define SCANCOV_MODELS_NN_DP_SGD_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "models/nn/local_trainer.h"
#include "models/nn/local_training.h"
#include "models/nn/network.h"

namespace scancov::nn {

// InvalidArgument "DpSgdSettings: <field> ..." for a value out of the ranges of DpSgdSettings.
absl::Status CheckDpSgdSettings(const DpSgdSettings& settings);

// The rows 0..n-1 that join one step's batch: row i joins when Phi(z_i) < sample_rate, z_i the
// i-th of n standard normals from `settings.standard_normal` (Phi(z) is uniform on (0, 1)).
std::vector<int64_t> PoissonRows(int64_t n, const DpSgdSettings& settings);

struct ClippedGradients {
  std::vector<torch::Tensor> sum;  // per parameter of net.parameters(): sum of clipped gradients
  torch::Tensor norms;             // [rows]: each row's gradient norm before clipping (float64)
  torch::Tensor loss_sum;          // sum of the rows' losses (detached scalar)
};

// For each row of x ([rows, cols]) with label y ([rows]): the gradient of its binary
// cross-entropy with logits over all of net's parameters, scaled by min(1, C / (norm + 1e-6))
// (Opacus' factor: the clipped norm is below C), summed over the rows. Leaves the parameters'
// .grad as it found them undefined. Zero rows: zero sums.
ClippedGradients ClippedGradientSum(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                    double clip_norm);

// Sets each parameter's .grad to (sum + N(0, (sigma C)^2)) / expected_batch, the noise from
// `settings.standard_normal` in double precision, one sample per coordinate.
void SetNoisyGradients(const std::vector<torch::Tensor>& params, const ClippedGradients& clipped,
                       const DpSgdSettings& settings, double expected_batch);

// config.epochs epochs of config.dp_sgd->steps_per_epoch private steps over (x, y), with Adam
// and config's FedProx term. `config.dp_sgd` must be set and valid.
LocalTrainingStats RunDpSgdEpochs(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                  const TrainConfig& config);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_DP_SGD_H_
