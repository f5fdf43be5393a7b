// Synthetic models for the federation load benchmark: float32 tensors in the layout of a 2D
// U-Net (encoder and decoder blocks of two 3x3 convolutions with BatchNorm, transposed 2x2
// up-convolutions, a 1x1 head), its base width chosen so that the set comes as close as it can
// to a requested size from below; one flat tensor ("pad") makes up the difference, so the raw
// tensor bytes equal the request to the float.
//
// Values are deterministic: the same seed gives the same bytes. Nothing here is trained; the
// values only need to be finite and different from site to site.
#ifndef SCANCOV_BENCH_FEDERATION_LOAD_SYNTHETIC_MODEL_H_
#define SCANCOV_BENCH_FEDERATION_LOAD_SYNTHETIC_MODEL_H_

#include <cstdint>
#include <vector>

#include "protocol/tensor_set.h"

namespace scancov::bench {

struct ModelLayout {
  int base_channels = 0;
  std::vector<protocol::Tensor> tensors;  // names and shapes only (bytes empty)
  uint64_t bytes = 0;                     // raw float32 bytes of all tensors
};

// The U-Net layout whose raw size is `target_bytes` (rounded down to whole floats; at least one
// float). Depth 5 (four poolings), one input channel, two output classes.
ModelLayout UNetLayout(uint64_t target_bytes);

// The layout filled with values uniform in [-0.05, 0.05] drawn from `seed`.
protocol::TensorSet MakeModel(const ModelLayout& layout, uint64_t seed);

// A site's local "training": `global` plus noise uniform in [-scale, scale] (deterministic from
// `seed`) on every float32 element, same layout; other dtypes are copied as they are. One pass
// over the bytes, so that a site's own work stays negligible next to its transfers.
protocol::TensorSet MakeUpdate(const protocol::TensorSet& global, uint64_t seed,
                               float scale = 1e-3f);

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_FEDERATION_LOAD_SYNTHETIC_MODEL_H_
