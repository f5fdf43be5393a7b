// The arithmetic a segmentation network's inference runs in (SegPredictOptions::precision,
// scancov-score --precision). LibTorch-free.
//
//   "fp32"  float32 throughout (the default of the node's validation: the metrics a site
//           releases do not depend on its hardware beyond float rounding);
//   "bf16"  the forward pass under bfloat16 autocast (autocast.h): convolutions and matrix
//           products in bfloat16 with float32 accumulation, softmax and argmax in float32.
//           Runs anywhere; fast only where the hardware computes bfloat16 (below), elsewhere
//           emulated and slower than fp32;
//   "auto"  bf16 where the device computes it natively, fp32 elsewhere.
//
// Labels in bf16 differ from fp32 only where two classes are within bfloat16's rounding (8
// significant bits) of each other: measured in docs/benchmarks.md ("bf16 inference").
#ifndef SCANCOV_MODELS_NN_PRECISION_H_
#define SCANCOV_MODELS_NN_PRECISION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::nn {

enum class Precision { kFloat32, kBFloat16 };

// "fp32" or "bf16".
std::string PrecisionName(Precision precision);

// Whether the device computes bfloat16 natively: on the CPU (cuda false), x86 with AVX512-BF16
// or AMX-BF16 (the processor's own flags, not the build's); on CUDA, device 0 of compute
// capability >= 8.0 (Ampere and later), read from the driver.
bool NativeBFloat16(bool cuda);

// The precision `name` ("fp32", "bf16" or "auto") stands for on the CPU (cuda false) or the GPU.
// InvalidArgument for any other name.
absl::StatusOr<Precision> ResolvePrecision(absl::string_view name, bool cuda);

// The same on a device named as SegPredictOptions::device: "cuda", "cpu" or "auto" (CUDA when
// LibTorch finds it). InvalidArgument for a bad precision; a bad device name is the
// predictor's to refuse (read here as the CPU).
absl::StatusOr<Precision> ResolvePrecisionOn(absl::string_view name, absl::string_view device);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_PRECISION_H_
