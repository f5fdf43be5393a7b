// The one local-training loop of models/nn (internal; includes LibTorch), used by every network
// family: the tabular models (local_training.cc), the segmentation nets (segmentation.cc) and
// the AI-severity slice encoder (severity_encoder.cc).
//
// The loop owns what a site's training round has in common: a fresh Adam optimizer (betas
// 0.9/0.999, no weight decay), the epoch-major walk over the batches, moving each batch onto the
// training device, the forward pass (under CUDA bfloat16 autocast when asked), the FedProx
// proximal term (ProximalTerm, the only place it is computed), backward and step, the mean batch
// loss of the first and last epoch, and the wall time. The family passes in what differs: how
// batch (epoch, index) is built (shuffling, augmentation, patch sampling) and how the network's
// output and the batch become the loss (masking, reduction, class weights).
//
// LibTorch errors are thrown, as everywhere inside models/nn: the LibTorch-free entry points run
// the loop under Guarded (torch_runtime.h), which turns them into a Status.
//
// Not thread-safe: the network, the optimizer and the callbacks are used on the calling thread.
// The loop draws nothing from LibTorch's default generator itself, but the network's forward
// pass may (Dropout): a caller that needs reproducible Dropout masks holds
// TorchGeneratorMutex() and seeds the generator first (torch_runtime.h).
#ifndef SCANCOV_MODELS_NN_LOCAL_TRAINER_H_
#define SCANCOV_MODELS_NN_LOCAL_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/progress.h"
#include "models/nn/network.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

// One training batch, on any device (the loop moves input and target onto the training device;
// a CPU input is copied to CUDA through pinned memory, without blocking).
struct TrainingBatch {
  torch::Tensor input;   // the network's input, batch first
  torch::Tensor target;  // what the loss compares the output with (labels, masks)
  // The number of terms the loss averages over (rows, slices, labelled voxels); a batch with
  // none (augmentation moved every label out) is skipped without a step.
  int64_t terms = 0;
};

// Builds batch `index` (0 .. batches_per_epoch - 1) of `epoch`. The loop calls it exactly once
// per batch, in order, epoch-major, on its own thread.
using BatchSource = std::function<TrainingBatch(int epoch, int64_t index)>;

// The batch's loss, a scalar averaged over its terms, from the network's output and the batch
// (input and target on the training device). Minimised (plus the FedProx term) and reported.
using BatchLoss =
    std::function<torch::Tensor(const torch::Tensor& output, const TrainingBatch& batch)>;

// DP-SGD's gradient (dp_sgd.h): sets every parameter's gradient from the batch (input and target
// on the training device) and returns the batch's mean loss (detached, 0 for an empty batch),
// for the stats only.
using PrivateGradient = std::function<torch::Tensor(Network& net, const TrainingBatch& batch)>;

struct LocalTrainingOptions {
  int epochs = 1;                      // passes over the batches, >= 0
  int64_t batches_per_epoch = 0;       // >= 0
  double learning_rate = 1e-3;         // Adam step size, > 0
  double proximal_mu = 0.0;            // FedProx mu, >= 0 (0: no proximal term)
  torch::Device device = torch::kCPU;  // where the network is
  bool autocast = false;               // forward in bfloat16 autocast; only on CUDA
  // Where the epochs and batches are reported (core/progress.h), and checked before each batch:
  // once it is cancelled the loop stops (LocalTrainingStats::cancelled). Null: neither.
  Progress* progress = nullptr;
  // Set: it replaces the forward pass, the loss and backward of every step (the BatchLoss is not
  // called), and every batch takes a step, an empty one too (DP-SGD's noise alone); the FedProx
  // term's gradient is added to the one it set.
  PrivateGradient private_gradient;
};

struct LocalTrainingStats {
  int64_t steps = 0;  // optimizer steps taken (skipped batches take none)
  // Mean of the batch losses (train mode, without the FedProx term) over the first and the
  // last epoch; 0 without epochs or steps.
  double first_epoch_loss = 0.0;
  double last_epoch_loss = 0.0;
  double seconds = 0.0;    // wall time of the epochs, CUDA work included
  bool cancelled = false;  // stopped early: options.progress was cancelled (the weights are
                           // part-trained and must not be used)
};

// The range checks every family's config shares, as InvalidArgument "<where>: <field> ...":
// epochs >= 0, batch_size >= 1, learning_rate finite and > 0, proximal_mu finite and >= 0.
absl::Status CheckTrainingSettings(absl::string_view where, int epochs, int batch_size,
                                   double learning_rate, double proximal_mu);

// The FedProx proximal term mu / 2 * sum_i ||params[i] - anchor[i]||^2: a scalar on the
// parameters' device, differentiable in `params` (gradient mu * (params[i] - anchor[i])).
// `anchor` holds one tensor per parameter, of the same shape; 0 when `params` is empty.
torch::Tensor ProximalTerm(const std::vector<torch::Tensor>& params,
                           const std::vector<torch::Tensor>& anchor, double mu);

// Trains `net` in place, on options.device, in train mode (left so). The parameters `net` holds
// on entry are the global weights the FedProx term pulls towards. Given the same batches, losses
// and generator state (Dropout) the result is bit-identical on the CPU (same LibTorch build and
// thread count); on CUDA only as far as the kernels are deterministic.
LocalTrainingStats TrainLocally(Network& net, const LocalTrainingOptions& options,
                                const BatchSource& batches, const BatchLoss& loss);

// 0 .. n-1 in the order of epoch `epoch`, shuffled (Fisher-Yates) by a generator seeded with
// (seed, epoch) only, so that any epoch's order can be drawn on its own and from any thread.
std::vector<int64_t> EpochOrder(int64_t n, int epoch, uint64_t seed);

// The trained weights (ExportState), or Internal "training diverged (lower the learning rate):
// ..." if a weight or `loss_end` (the loss measured after training) is not finite.
absl::StatusOr<protocol::TensorSet> ExportTrained(const Network& net, double loss_end);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_LOCAL_TRAINER_H_
