// AI-severity's LibTorch part behind a LibTorch-free face: the slice encoder (`slice_encoder`,
// slice_encoder.h) is initialised, trained by federated rounds on a site's scans, and turns a
// scan into one embedding vector; PCA and the penalized logistic regression on those vectors
// belong to models/stats, and the two window settings are two encoders (two configs) whose
// downstream probabilities are ensembled by the caller. No LibTorch type or header appears here.
//
// Input: SeverityScan (severity_slices.h): a CT, its lung mask on the same grid, and the scan's
// outcome. How a scan becomes slices (lung masking before any resampling so devices outside the
// lungs cannot bias it, 10 mm slices, fixed in-plane size, windows, slice selection) is
// documented there and fixed by the model config (severity_config.h).
//
// Training is weakly supervised, a multiple-instance simplification: every kept slice inherits
// its scan's label (1 severe, 0 not) and the head is trained with the binary cross-entropy on
// its logit, averaged over slices (a scan with more lung slices weighs more). Severity is a
// property of the whole scan, so many slices of a severe scan look healthy; the label noise this
// brings is the price of needing no slice annotations, and the scan-level model (pooled
// embeddings + logistic regression) is what is evaluated. Scans of unknown outcome (label -1)
// are skipped.
//
// Errors are Status values; LibTorch exceptions never cross this header. Messages carry scan
// indices, shapes and tensor names, never voxel values or patient identifiers.
//
// Thread safety: all functions may be called from any thread. Building a network draws from
// LibTorch's process-wide generator under the process-wide mutex (torch_runtime.h).
#ifndef SCANCOV_MODELS_NN_SEVERITY_ENCODER_H_
#define SCANCOV_MODELS_NN_SEVERITY_ENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/progress.h"
#include "models/nn/severity_config.h"
#include "models/nn/severity_slices.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

struct SeverityTrainConfig {
  std::string model_config_json;  // SliceEncoderConfig as JSON (severity_config.h); "" defaults
  int epochs = 1;                 // passes over the slices, >= 0 (0: only measure the loss)
  int batch_size = 16;            // slices per step, >= 1
  double learning_rate = 1e-3;    // Adam step size, > 0
  uint64_t seed = 0;              // slice order of each epoch
  std::string device = "auto";    // "auto" (CUDA when available), "cpu" or "cuda"
  double proximal_mu = 0.0;       // FedProx: adds mu/2 * ||w - w_global||^2 (parameters), >= 0
  // Epochs and batches are reported to it (core/progress.h); once it is cancelled, training
  // stops before the next batch and the call fails with Cancelled and its reason. Null: neither.
  Progress* progress = nullptr;
};

struct SeverityTrainMetrics {
  // Mean binary cross-entropy of the head over all training slices (eval mode) before the first
  // and after the last step (without the FedProx term).
  double loss_start = 0.0;
  double loss_end = 0.0;
  // Mean of the batch losses (train mode) over the first and the last epoch.
  double train_loss_first_epoch = 0.0;
  double train_loss_last_epoch = 0.0;
  int epochs = 0;
  int64_t steps = 0;
  int64_t scans = 0;             // labelled scans used
  int64_t severe_scans = 0;      // of which label 1
  int64_t unlabelled_scans = 0;  // label -1, skipped
  int64_t slices = 0;            // training slices (= num_samples)
  std::string device;            // "cpu" or "cuda"
  double train_seconds = 0.0;    // wall time of the epochs (not preprocessing or loss passes)
};

struct SeverityTrainResult {
  protocol::TensorSet weights;  // parameters and buffers, same layout as the global weights
  int64_t num_samples = 0;      // training slices: the FedAvg weight
  SeverityTrainMetrics metrics;
};

// Freshly initialised `slice_encoder` weights (LibTorch's default initialisation seeded with
// `seed`, on the CPU): the same config and seed give identical bytes; different seeds differ.
// InvalidArgument for a bad config.
absl::StatusOr<protocol::TensorSet> InitSeverityEncoder(absl::string_view config_json,
                                                        uint64_t seed);

// Trains a copy of `global` on the labelled scans and returns the new weights.
//
// Optimizer: Adam (betas 0.9/0.999, no weight decay), fresh each call, on the mean binary
// cross-entropy of the slice logits, plus the FedProx term when proximal_mu > 0. Each epoch
// visits the slices in an order drawn from `seed`. With the same inputs and seed the result is
// bit-identical on the CPU (same LibTorch build and thread count); on CUDA only as far as the
// kernels are deterministic.
//
// Memory: every training slice is held as float32, count x channels x slice_size^2 x 4 bytes
// (e.g. 650 scans x 30 slices at 128^2 with three windows: 3.8 GB); choose slice_size for it.
//
// Refuses (InvalidArgument): config values out of range; a scan that PrepareSeveritySlices
// refuses (its index is named); no labelled scan; non-finite global weights, or weights whose
// names, shapes or dtypes differ from the model's. FailedPrecondition for device "cuda" without
// CUDA; Internal if training diverges to non-finite weights.
absl::StatusOr<SeverityTrainResult> TrainSeverityEncoder(const protocol::TensorSet& global,
                                                         const std::vector<SeverityScan>& scans,
                                                         const SeverityTrainConfig& config);

// TrainSeverityEncoder on scans already turned into the encoder's slices (PrepareSeveritySlices
// with the same config), labels[i] being scan i's outcome (1, 0, or -1 unknown): the same result
// as on the scans they were prepared from. Lets a caller prepare each CT once, drop the volume
// and keep only the slices (a few MB a scan at the default size, not hundreds for a full-scale
// CT). InvalidArgument also when a scan's channels or slice size are not the config's.
absl::StatusOr<SeverityTrainResult> TrainSeverityEncoder(
    const protocol::TensorSet& global, const std::vector<const SeveritySlices*>& scans,
    const std::vector<int>& labels, const SeverityTrainConfig& config);

// The scan's embedding: the encoder's slice embeddings (eval mode, float32) over the kept
// slices, pooled by the config's "pooling": their mean (embedding_dim values), or "mean_max",
// the mean followed by the element-wise maximum (2 x embedding_dim values: the mean says how much
// of the lung looks diseased, the maximum how bad the worst slice is). The scan's label is
// ignored. Deterministic: the same weights and scan give the same vector on the same device and
// thread count; it depends only on the HU inside the lung mask. Refuses what
// PrepareSeveritySlices refuses and weights that do not fit the config.
absl::StatusOr<std::vector<float>> EmbedScan(const protocol::TensorSet& weights,
                                             absl::string_view config_json,
                                             const SeverityScan& scan,
                                             absl::string_view device = "auto");

// EmbedScan for several scans, building the network once; the i-th vector is scan i's. A scan
// that cannot be embedded fails the call (its index is named).
absl::StatusOr<std::vector<std::vector<float>>> EmbedScans(const protocol::TensorSet& weights,
                                                           absl::string_view config_json,
                                                           const std::vector<SeverityScan>& scans,
                                                           absl::string_view device = "auto");

// EmbedScans on prepared slices (each PrepareSeveritySlices of `config_json`): the same vectors.
// InvalidArgument names a scan whose channels or slice size are not the config's.
absl::StatusOr<std::vector<std::vector<float>>> EmbedPreparedScans(
    const protocol::TensorSet& weights, absl::string_view config_json,
    const std::vector<const SeveritySlices*>& scans, absl::string_view device = "auto");

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEVERITY_ENCODER_H_
