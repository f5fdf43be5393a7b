// SegmentationPredictor: a segmentation network (segmentation.h) loaded once from its weights
// and config, then run on any number of CT volumes. PredictProbabilities (segmentation.h) is one
// predictor used once; callers that segment several volumes with the same weights keep one
// predictor, and callers that only need labels ask for them without the per-class float volume.
//
//   absl::StatusOr<SegmentationPredictor> p =
//       SegmentationPredictor::Create(weights, "unet2d", config_json, "cpu");
//   absl::StatusOr<LabelVolume> lungs = p->PredictLabels(ct);
//
// What is computed is PredictProbabilities' (eval mode, float32 softmax; 2D / 2.5D slice by
// slice, 3D overlapping tiles averaged; the forward pass in bfloat16 when the options ask for
// it, precision.h), in batches of `PredictionBatch()` samples. Every
// tensor of a call stays on the device until the result: PredictLabels takes the argmax there
// and brings back one byte a voxel, and PredictLabels(ct, mask) is exactly
// ArgmaxLabels(Predict(ct), mask) (seg_probabilities.h), ties to the lower class included.
//
// LibTorch-free header (the network lives behind a pointer to an implementation). Errors are
// Status values, never exceptions; messages carry shapes and names, never voxel values.
//
// Thread safety: a predictor may be used from several threads; its calls are serialised (one
// network, one device). Creating one holds TorchGeneratorMutex (torch_runtime.h) while the
// network is built. LibTorch's intra-op threads are the process's (SetTorchThreads,
// local_training.h).
#ifndef SCANCOV_MODELS_NN_SEG_PREDICTOR_H_
#define SCANCOV_MODELS_NN_SEG_PREDICTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/volume.h"
#include "models/nn/seg_probabilities.h"
#include "protocol/tensor_set.h"

namespace scancov::nn {

struct SegPredictOptions {
  std::string device = "auto";  // "auto" (CUDA when available), "cpu" or "cuda"
  // Samples (slices, or 3D tiles) per forward pass, >= 0; 0: sized to memory (see
  // PredictionBatch). The probabilities do not depend on it beyond float rounding in the
  // convolution kernels.
  int batch = 0;
  // "fp32", "bf16" or "auto" (precision.h): the forward pass's arithmetic; the softmax, the
  // 3D tiles' mean and the argmax are float32 in every precision.
  std::string precision = "fp32";
};

class SegmentationPredictor {
 public:
  // Builds the network of `model` / `config_json` on the device and loads `weights` into it.
  // NotFound for a model that is not a segmentation model; InvalidArgument for a bad config or
  // batch or precision, non-finite weights, or weights whose names, shapes or dtypes differ from
  // the model's (the first such tensor is named); FailedPrecondition for device "cuda" without
  // CUDA.
  static absl::StatusOr<SegmentationPredictor> Create(const protocol::TensorSet& weights,
                                                      absl::string_view model,
                                                      absl::string_view config_json,
                                                      const SegPredictOptions& options = {});

  SegmentationPredictor(SegmentationPredictor&&) noexcept;
  SegmentationPredictor& operator=(SegmentationPredictor&&) noexcept;
  ~SegmentationPredictor();

  // Per-class probabilities for every voxel of `ct`, on its grid (PredictProbabilities).
  // InvalidArgument for an empty or inconsistent volume.
  absl::StatusOr<SegProbabilities> Predict(const HuVolume& ct);

  // ArgmaxLabels(Predict(ct), lung_mask) without the probability volume on the host: the most
  // probable class of each voxel (ties to the lower class); with a lung mask (same grid,
  // non-zero = lung), 0 outside it and the argmax over the classes >= 1 inside. InvalidArgument
  // for an empty or inconsistent volume or a mask on another grid.
  absl::StatusOr<LabelVolume> PredictLabels(const HuVolume& ct,
                                            const LabelVolume* lung_mask = nullptr);

  int num_classes() const;
  // "cpu" or "cuda".
  std::string device() const;
  // "fp32" or "bf16": the options' precision resolved on the device.
  std::string precision() const;
  // Samples per forward pass for slices of `ny` x `nx` (2D / 2.5D; the config's patch for 3D):
  // the option when set, else as many as keep the largest activations of one pass within
  // about 1 GiB on the CPU and 4 GiB on CUDA (the node's former fixed 8 slices, 2 tiles, for
  // the seed's 256 x 256 U-Net with 32 base channels on the CPU: see the .cc), 1..64.
  int64_t PredictionBatch(int ny, int nx) const;

 private:
  struct Impl;
  explicit SegmentationPredictor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEG_PREDICTOR_H_
