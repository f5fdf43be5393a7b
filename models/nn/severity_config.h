// SliceEncoderConfig: the shape of the AI-severity slice encoder (`slice_encoder`) and the
// preprocessing its weights were trained with, as a struct and as the JSON object that travels
// in a training task, e.g.
//   {"window": "three", "base_channels": 16, "depth": 4, "embedding_dim": 64,
//    "slice_size": 512, "pooling": "mean_max"}
// An empty string or "{}" selects the defaults (small, so that CPU tests are fast; the seed's
// 0.7 mm pixels correspond to "slice_size": 512 for a ~360 mm field of view).
//
// Preprocessing belongs to the weights (a network trained on one window setting or slice size
// means nothing on another), so it is part of the config; see severity_slices.h for what each
// field does to a scan.
//
// LibTorch-free. A plain value type: copyable, movable, not synchronised.
#ifndef SCANCOV_MODELS_NN_SEVERITY_CONFIG_H_
#define SCANCOV_MODELS_NN_SEVERITY_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::nn {

// The seed's two window settings (models/ct/preprocessing.h): "single" is (-1000, 600) as one
// channel; "three" is (-1000, 0), (0, 1000), (-1000, 4000) as three channels.
enum class SeverityWindow { kSingle, kThree };

// How slice embeddings become one scan embedding: their mean (embedding_dim values), or their
// mean followed by their element-wise maximum (2 x embedding_dim values).
enum class SeverityPooling { kMean, kMeanMax };

struct SliceEncoderConfig {
  SeverityWindow window = SeverityWindow::kSingle;
  // Network: `depth` blocks of two 3x3 convolutions (BatchNorm when batch_norm, ReLU), block l
  // having base_channels * 2^l channels, 2x max pooling between blocks, global average pooling,
  // then a linear layer to the embedding and a linear head (one logit) for training.
  int64_t base_channels = 8;   // 1..256
  int64_t depth = 3;           // 1..6
  int64_t embedding_dim = 64;  // 1..4096
  bool batch_norm = true;
  // Preprocessing: every slice is resampled in plane to slice_size x slice_size pixels covering
  // the field of view (8..1024 and >= 2^depth); slices are first resampled to slice_spacing_mm
  // along the slice normal (the seed's 10 mm; 0 keeps the scan's slices). A slice is used when
  // its lung pixel count is at least min_lung_fraction (0..1) of the largest one of the scan.
  int64_t slice_size = 64;
  double slice_spacing_mm = 10.0;
  double min_lung_fraction = 0.1;
  SeverityPooling pooling = SeverityPooling::kMean;

  int64_t in_channels() const { return window == SeverityWindow::kSingle ? 1 : 3; }
  // Length of a scan embedding (EmbedScan in severity_encoder.h).
  int64_t scan_embedding_dim() const {
    return pooling == SeverityPooling::kMean ? embedding_dim : 2 * embedding_dim;
  }
};

// OK if every field is in range.
absl::Status ValidateSliceEncoderConfig(const SliceEncoderConfig& config);

// Parses the JSON object (keys as the fields above; "window" is "single" or "three", "pooling"
// is "mean" or "mean_max") over the defaults. Unknown keys, wrong types and out-of-range values
// are refused (InvalidArgument).
absl::StatusOr<SliceEncoderConfig> ParseSliceEncoderConfig(absl::string_view json);

// The JSON object ParseSliceEncoderConfig reads back to the same config.
std::string SliceEncoderConfigToJson(const SliceEncoderConfig& config);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEVERITY_CONFIG_H_
