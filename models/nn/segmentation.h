// Segmentation networks (lungs: `unet2d`; lesions: `unet25d`, `unet3d`) trained and run behind
// a LibTorch-free face: CT volumes and label volumes (core/volume.h) go in, weights come out as
// protocol::TensorSet (parameters and buffers, the federation's format), probabilities as
// SegProbabilities (seg_probabilities.h). No LibTorch type or header appears here.
//
// Models and their JSON configs, labels and input normalisation: see seg_config.h. Resampling
// is the caller's business: volumes are used on the grid they come with.
//
// Samples. 2D / 2.5D nets: one sample is one axial slice (with its 2k neighbours as channels,
// repeated at the first and last slice) that has at least one labelled voxel; every example
// must then have the same slice size (rows x columns). 3D net: one sample is one patch of a
// grid of non-overlapping patches covering the volume (the last one along each axis moved back
// to fit; volumes smaller than a patch padded with air and unlabelled voxels) that holds at
// least one labelled voxel. Label 255 (kUnlabelled) marks a voxel without annotation: the loss
// is the cross-entropy averaged over labelled voxels only, so partially annotated slices train
// on what is annotated, and slices or patches without any label are not used at all.
//
// Errors are Status values; LibTorch exceptions never cross this header. Messages carry
// indices, shapes and tensor names, never voxel values.
//
// Thread safety: all functions may be called from any thread. Building a network draws from
// LibTorch's process-wide generator, so that happens under the process-wide mutex that
// local_training.h's functions also hold (torch_runtime.h).
#ifndef SCANCOV_MODELS_NN_SEGMENTATION_H_
#define SCANCOV_MODELS_NN_SEGMENTATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/progress.h"
#include "core/volume.h"
#include "models/nn/seg_probabilities.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

inline constexpr uint8_t kUnlabelled = 255;

struct SegmentationExample {
  HuVolume ct;
  // Same grid as `ct`; the class of each voxel (< the model's num_classes) or kUnlabelled.
  LabelVolume labels;
};

struct SegTrainConfig {
  std::string model;              // "unet2d", "unet25d" or "unet3d"
  std::string model_config_json;  // see seg_config.h; "" for the defaults
  int epochs = 1;                 // passes over the samples, >= 0 (0: only measure the loss)
  int batch_size = 8;             // samples per step, >= 1
  double learning_rate = 1e-3;    // Adam step size, > 0
  uint64_t seed = 0;              // shuffling, augmentation, patch jitter
  std::string device = "auto";    // "auto" (CUDA when available), "cpu" or "cuda"
  // CUDA only (ignored on the CPU): the forward pass under autocast in bfloat16 (no loss
  // scaling is needed for bfloat16; it needs a GPU of compute capability >= 8.0).
  bool mixed_precision = false;
  // Random in-plane affine (left-right flip with p 0.5, rotation within +-10 degrees, scale
  // 0.9..1.1; bilinear for the image, nearest for the labels, voxels brought in from outside
  // are air and unlabelled) and contrast jitter (x * U(0.9, 1.1) + U(-0.05, 0.05) after
  // normalisation), drawn per sample from `seed`; 3D patches also move by up to a quarter patch.
  bool augment = false;
  // With `augment`: the contrast jitter too (true), or the geometric part only (false). Where
  // the classes are HU bands (lesions: GGO / crazy paving / consolidation), intensity jitter
  // moves voxels across the class boundaries the network has to learn.
  bool augment_intensity = true;
  // Threads that prepare batches (crop, normalise, augment) while the network trains, >= 0
  // (0: on the training thread). The batches do not depend on it.
  int num_workers = 0;
  double proximal_mu = 0.0;  // FedProx: adds mu/2 * ||w - w_global||^2 (parameters), >= 0
  // Epochs and batches are reported to it (core/progress.h); once it is cancelled, training
  // stops before the next batch and the call fails with Cancelled and its reason. Null: neither.
  Progress* progress = nullptr;
};

struct SegTrainMetrics {
  // Mean cross-entropy over the labelled voxels of all samples (eval mode, no augmentation)
  // before the first and after the last step (without the FedProx term).
  double loss_start = 0.0;
  double loss_end = 0.0;
  // Mean of the batch losses (train mode, augmented) over the first and the last epoch.
  double train_loss_first_epoch = 0.0;
  double train_loss_last_epoch = 0.0;
  int epochs = 0;
  int64_t steps = 0;             // optimizer steps taken
  int64_t labelled_voxels = 0;   // over all samples
  std::string device;            // "cpu" or "cuda"
  bool mixed_precision = false;  // whether autocast was actually used
  double train_seconds = 0.0;    // wall time of the training epochs (not the loss passes)
  double samples_per_second = 0.0;
  double slices_per_second = 0.0;  // samples/s x slices per sample (1, or the patch depth)
};

struct SegTrainResult {
  protocol::TensorSet weights;  // parameters and buffers, same layout as the global weights
  int64_t num_samples = 0;      // labelled slices (2D, 2.5D) or patches (3D): the FedAvg weight
  SegTrainMetrics metrics;
};

struct SegLossResult {
  double loss = 0.0;  // mean cross-entropy over the labelled voxels (eval mode)
  int64_t labelled_voxels = 0;
  int64_t num_samples = 0;
};

// Freshly initialised weights (LibTorch's default initialisation seeded with `seed`, on the
// CPU): the same model, config and seed give identical bytes; different seeds differ.
// NotFound for a model that is not a segmentation model; InvalidArgument for a bad config.
absl::StatusOr<protocol::TensorSet> InitSegmentationModel(absl::string_view model,
                                                          absl::string_view config_json,
                                                          uint64_t seed);

// Trains a copy of `global` on `examples` and returns the new weights.
//
// Optimizer: Adam (betas 0.9/0.999, no weight decay), fresh each call, on the masked
// cross-entropy, plus the FedProx term when proximal_mu > 0. Each epoch visits the samples in
// an order drawn from `seed`; a batch is skipped if augmentation left it without a labelled
// voxel. With the same inputs and seed the result is bit-identical on the CPU (same LibTorch
// build and thread count), whatever num_workers; on CUDA only as far as the kernels are
// deterministic (cuDNN convolution backward and upsampling use atomics), and mixed precision
// changes the numbers.
//
// Refuses (InvalidArgument): config values out of range; examples whose label grid differs from
// the CT grid, that hold a label >= num_classes other than 255, or (2D/2.5D) whose slice sizes
// differ; no labelled sample at all; non-finite global weights, or weights whose names, shapes
// or dtypes differ from the model's (the first such tensor is named). FailedPrecondition for
// device "cuda" without CUDA; Internal if training diverges to non-finite weights.
absl::StatusOr<SegTrainResult> TrainSegmentation(const protocol::TensorSet& global,
                                                 const std::vector<SegmentationExample>& examples,
                                                 const SegTrainConfig& config);

// The loss TrainSegmentation reports as loss_start / loss_end, for weights on any examples
// (e.g. a validation site). Refuses what TrainSegmentation refuses.
absl::StatusOr<SegLossResult> EvaluateSegmentationLoss(
    const protocol::TensorSet& weights, absl::string_view model, absl::string_view config_json,
    const std::vector<SegmentationExample>& examples, absl::string_view device = "auto");

// Per-class probabilities for every voxel of `ct` (eval mode, float32). 2D / 2.5D: slice by
// slice (neighbours repeated at the ends). 3D: tiles of the config's patch size overlapping by
// tile_overlap, each voxel the mean of the softmax of the tiles that cover it (volumes smaller
// than a patch are padded with air). The result is on the grid of `ct`. Builds the network and
// loads the weights for this one call: to segment several volumes with the same weights, or to
// get labels without the per-class float volume, use SegmentationPredictor (seg_predictor.h),
// which this is a one-off of.
absl::StatusOr<SegProbabilities> PredictProbabilities(const protocol::TensorSet& weights,
                                                      absl::string_view model,
                                                      absl::string_view config_json,
                                                      const HuVolume& ct,
                                                      absl::string_view device = "auto");

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEGMENTATION_H_
