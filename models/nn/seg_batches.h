// Turning CT and label volumes into the batches the segmentation networks see (internal to
// models/nn; LibTorch-free, so that the data-loading threads never touch LibTorch): input
// normalisation, which slices / patches are samples, cropping with padding, augmentation.
//
// SegBatchBuilder holds pointers to the volumes, which must outlive it and stay unchanged; its
// const methods may be called from several threads at once.
#ifndef SCANCOV_MODELS_NN_SEG_BATCHES_H_
#define SCANCOV_MODELS_NN_SEG_BATCHES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/volume.h"
#include "models/nn/seg_config.h"
#include "models/nn/segmentation.h"

namespace scancov::nn {

// The network input for one HU value (see seg_config.h for the two normalisations).
float NormalizeHu(int hu, HuNormalization normalization);

// Start offsets of windows of `patch` voxels along an axis of `n` voxels that cover it with
// neighbours sharing about `overlap` of a window: 0, s, 2s, ... and n - patch last (s = patch x
// (1 - overlap), at least 1). {0} when n <= patch.
std::vector<int> TileStarts(int n, int patch, double overlap);

// A sample: 2D / 2.5D the slice z of an example (y = x = 0); 3D the patch whose first voxel is
// (z, y, x).
struct SegSample {
  int example = 0;
  int z = 0, y = 0, x = 0;
};

// A per-sample augmentation (see SegTrainConfig::augment). The identity by default.
struct SegAugment {
  bool flip = false;
  double angle_rad = 0.0;
  double scale = 1.0;
  double contrast = 1.0;
  double brightness = 0.0;
  int shift[3] = {0, 0, 0};  // 3D: patch origin moved by (z, y, x) voxels
};

// Draws the augmentation of sample `position` of epoch `epoch`; a pure function of its
// arguments, so batches do not depend on which thread builds them. Without `intensity` the
// contrast and brightness stay at the identity and the geometric draws are the same as with it.
SegAugment DrawAugment(uint64_t seed, int64_t epoch, int64_t position, bool is_3d,
                       const std::array<int64_t, 3>& patch, bool intensity = true);

// splitmix64 of the three values: independent seeds for epochs and samples.
uint64_t MixSeed(uint64_t seed, uint64_t a, uint64_t b);

struct SegBatch {
  std::vector<int64_t> input_shape;  // [N, C, H, W] (2D / 2.5D) or [N, 1, D, H, W] (3D)
  std::vector<float> input;
  std::vector<int64_t> target_shape;  // [N, H, W] or [N, D, H, W]
  std::vector<uint8_t> target;        // class index or kUnlabelled; empty without labels
  int64_t labelled = 0;               // target voxels != kUnlabelled
};

// OK if the examples fit `config`: consistent grids, labels < num_classes or 255, and (2D /
// 2.5D) one slice size for all; InvalidArgument naming the example otherwise.
absl::Status ValidateSegExamples(const SegNetConfig& config,
                                 const std::vector<SegmentationExample>& examples);

class SegBatchBuilder {
 public:
  // `labels` may hold nulls (inference: no targets); otherwise one per CT, on its grid.
  SegBatchBuilder(const SegNetConfig& config, std::vector<const HuVolume*> cts,
                  std::vector<const LabelVolume*> labels);

  // The training samples, in a fixed order: labelled slices, or labelled covering patches.
  std::vector<SegSample> LabelledSamples() const;
  // Every sample needed to predict the volume of example `e`: all slices, or the overlapping
  // tiles (tile_overlap).
  std::vector<SegSample> PredictionSamples(int e) const;

  // The batch of `samples`; `augments` is empty (identity) or one per sample.
  SegBatch Build(const std::vector<SegSample>& samples,
                 const std::vector<SegAugment>& augments) const;

  // Slices per sample (1, or the patch depth) and voxels of one sample's target.
  int64_t SlicesPerSample() const;

 private:
  void FillSample(const SegSample& sample, const SegAugment* augment, float* input,
                  uint8_t* target) const;
  // Crops (with padding) the input planes and target planes of a sample without augmentation.
  void Crop(const SegSample& sample, float* input, uint8_t* target) const;

  SegNetConfig config_;
  std::vector<const HuVolume*> cts_;
  std::vector<const LabelVolume*> labels_;
  int in_planes_ = 1, target_planes_ = 1, height_ = 1, width_ = 1;
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEG_BATCHES_H_
