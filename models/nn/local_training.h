// Local training and evaluation of registered networks: the LibTorch-free face of models/nn
// that the node uses. Weights go in and come out as protocol::TensorSet (parameters and
// buffers, see state_dict.h); no LibTorch type or header appears here.
//
// Models are named as in the registry ("logistic", "severity_mlp"; see tabular_models.h) and
// configured by a JSON object string (see tabular_config.h), e.g.
//   {"input_dim": 12, "hidden": [32, 16], "dropout": 0.1}
//
// Errors are Status values; LibTorch exceptions never cross this header. Messages never carry
// feature or label values, only indices, tensor names and shapes.
//
// Thread safety: all functions may be called from any thread. InitModel and TrainLocal seed
// LibTorch's process-wide default generator (torch::manual_seed), which also drives Dropout, so
// they are serialised by a process-wide mutex (torch_runtime.h, shared with segmentation.h;
// Evaluate holds it only while it constructs the network, whose default initialisation draws
// from that generator); other code in the process that draws from the generator meanwhile would
// break their reproducibility.
#ifndef SCANCOV_MODELS_NN_LOCAL_TRAINING_H_
#define SCANCOV_MODELS_NN_LOCAL_TRAINING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/progress.h"
#include "models/nn/tabular_data.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

// Sample-level DP-SGD (Abadi et al. 2016, as Opacus runs it). Each step draws its batch by Poisson
// sampling (every training row joins independently with probability sample_rate), computes each
// row's gradient of its binary cross-entropy on its own, clips it to L2 norm clip_norm over all
// parameters, sums them, adds N(0, (noise_multiplier clip_norm)^2) to every coordinate and
// divides by the expected batch size sample_rate x rows. An empty batch still takes its step (the
// noise alone). Adam and the FedProx term act on that gradient (post-processing). One row changes
// each step's sum by at most clip_norm: the guarantee (the accountant's steps_per_epoch x epochs
// steps at sample_rate and noise_multiplier) is about one row, i.e. one patient.
struct DpSgdSettings {
  double clip_norm = 1.0;         // > 0
  double noise_multiplier = 1.0;  // >= 0
  double sample_rate = 0.01;      // in (0, 1]
  int64_t steps_per_epoch = 100;  // >= 1; round(1 / sample_rate) as the node plans it
  // Fills its argument with independent standard normals; both the noise and the Poisson
  // sampling draw from it (row i joins when Phi(z_i) < sample_rate), because the coordinator
  // knows TrainConfig::seed and the guarantee needs both secret: the node passes its CSPRNG
  // source (privacy/dp/gaussian_source.h). Required; an error from it fails the training.
  std::function<absl::Status(absl::Span<double>)> standard_normal;
};

struct TrainConfig {
  std::string model;              // registry name
  std::string model_config_json;  // the model's JSON config
  int epochs = 1;                 // full passes over the data, >= 0 (0: only measure the loss)
  int batch_size = 32;            // >= 1
  double learning_rate = 1e-3;    // Adam step size, > 0
  uint64_t seed = 0;              // shuffling, Dropout; derive it per site and round
  double proximal_mu = 0.0;       // FedProx: adds mu/2 * ||w - w_global||^2 (parameters), >= 0
  std::string device = "auto";    // "auto" (CUDA when available), "cpu" or "cuda"
  // Epochs and batches are reported to it (core/progress.h); once it is cancelled, training
  // stops before the next batch and the call fails with Cancelled and its reason. Null: neither.
  Progress* progress = nullptr;
  // Set: train with DP-SGD (above) instead of shuffled minibatches; batch_size is then unused.
  std::optional<DpSgdSettings> dp_sgd;
};

struct TrainMetrics {
  double loss_start = 0.0;  // mean BCE over the training rows before the first step
  double loss_end = 0.0;    // the same after the last step (eval mode, without the FedProx term)
  int epochs = 0;
  int64_t steps = 0;   // optimizer steps taken
  std::string device;  // "cpu" or "cuda"
};

struct TrainResult {
  protocol::TensorSet weights;  // parameters and buffers, same layout as the global weights
  int64_t num_samples = 0;      // training rows (the FedAvg weight)
  TrainMetrics metrics;
};

struct EvalResult {
  std::vector<double> probabilities;  // P(y = 1) per row, in row order
  double loss = 0.0;                  // mean binary cross-entropy
  double accuracy = 0.0;              // fraction of rows where (probability >= 0.5) == y
  int64_t num_samples = 0;
};

// Registered model names, sorted.
std::vector<std::string> RegisteredModels();

// Freshly initialised weights (LibTorch's default initialisation seeded with `seed`, on the
// CPU): the same model, config and seed give identical bytes; different seeds differ.
absl::StatusOr<protocol::TensorSet> InitModel(absl::string_view model,
                                              absl::string_view config_json, uint64_t seed);

// Trains a copy of `global` on `train` and returns the new weights.
//
// Optimizer: Adam (betas 0.9/0.999, no weight decay), fresh each call, on the mean binary
// cross-entropy of the logits, plus the FedProx term when proximal_mu > 0. Each epoch visits the
// rows in an order shuffled by a generator seeded with `config.seed`; a final batch of a single
// row is merged into the previous one (BatchNorm needs two rows). With the same inputs and seed
// the result is bit-identical on the CPU (with the same LibTorch build and thread count); on
// CUDA it is reproducible only as far as the kernels are deterministic.
//
// Refuses (InvalidArgument) invalid data (ValidateTabularData), data whose columns do not fit
// the model, config values out of range, fewer than two rows or batch_size 1 for a network with
// BatchNorm (severity_mlp), non-finite global weights, and weights whose names, shapes or dtypes
// differ from the model's (the first such tensor is named), and under DP-SGD settings out of range
// or a network with BatchNorm (which mixes the rows of a batch: no row has a gradient of its
// own); FailedPrecondition for device
// "cuda" without CUDA; Internal if training diverges to non-finite weights.
absl::StatusOr<TrainResult> TrainLocal(const protocol::TensorSet& global, const TabularData& train,
                                       const TrainConfig& config);

// Predicts every row of `data` with `weights` in eval mode (Dropout off, BatchNorm running
// statistics) and scores the predictions against data.y. Refuses what TrainLocal refuses,
// except the BatchNorm limits (any number of rows can be evaluated).
absl::StatusOr<EvalResult> Evaluate(const protocol::TensorSet& weights, const TabularData& data,
                                    absl::string_view model, absl::string_view config_json,
                                    absl::string_view device = "auto");

// The device "auto" selects, for reports: "cpu", or "cuda:<name of GPU 0>" (e.g.
// "cuda:NVIDIA H100 80GB HBM3"; "cuda:0" if the driver cannot be asked for the name).
std::string DeviceInfo();

// LibTorch's intra-op threads (convolutions, BLAS calls), process-wide: each thread that has not
// run a LibTorch operation yet picks this up at its first one (OpenMP), so call it at start-up,
// before training or prediction threads start. Without it LibTorch uses OMP_NUM_THREADS, or the
// number of physical cores: one on a machine with two hyperthreads of one core. `threads` >= 1;
// 0 leaves LibTorch's choice.
void SetTorchThreads(int threads);
// The intra-op threads LibTorch uses on the calling thread.
int TorchThreads();

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_LOCAL_TRAINING_H_
