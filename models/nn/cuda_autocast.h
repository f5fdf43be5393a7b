// CudaAutocast: runs the forward passes in its scope under CUDA autocast in bfloat16 (internal;
// includes ATen). Used for SegTrainConfig::mixed_precision; bfloat16 has float32's exponent
// range, so no loss scaling (GradScaler, which LibTorch's C++ API lacks) is needed, but it needs
// a GPU of compute capability >= 8.0.
//
// The autocast API moved between LibTorch versions: 2.4 added the per-device calls
// (set_autocast_enabled(device, on), set_autocast_dtype(device, dtype)) and deprecated the
// CUDA-only ones that 1.x has (set_enabled, set_autocast_gpu_dtype); TORCH_VERSION_* picks the
// right ones. Autocast state is thread-local: the guard affects only the calling thread.
#ifndef SCANCOV_MODELS_NN_CUDA_AUTOCAST_H_
#define SCANCOV_MODELS_NN_CUDA_AUTOCAST_H_

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SCANCOV_TORCH_PER_DEVICE_AUTOCAST 1
#else
#define SCANCOV_TORCH_PER_DEVICE_AUTOCAST 0
#endif

namespace scancov::nn {

// Enables autocast (when `enabled`) for its lifetime and restores the previous state after.
class CudaAutocast {
 public:
  explicit CudaAutocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
#if SCANCOV_TORCH_PER_DEVICE_AUTOCAST
    was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }

  ~CudaAutocast() {
    if (!enabled_) return;
    // The cache of casted weights must not outlive the outermost autocast region.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if SCANCOV_TORCH_PER_DEVICE_AUTOCAST
    at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  }

  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool enabled_;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_CUDA_AUTOCAST_H_
