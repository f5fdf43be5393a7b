// Autocast: runs the forward passes in its scope under autocast in bfloat16 on one device type,
// CUDA or CPU (internal; includes ATen). Used for SegTrainConfig::mixed_precision (CUDA
// training) and SegPredictOptions::precision "bf16" (inference on either device). bfloat16 has
// float32's exponent range, so no loss scaling (GradScaler, which LibTorch's C++ API lacks) is
// needed; it runs at full speed on GPUs of compute capability >= 8.0 and on CPUs with
// AVX512-BF16 or AMX (precision.h), and is emulated, correct but slower, elsewhere.
//
// The autocast API moved between LibTorch versions: 2.4 added the per-device calls
// (set_autocast_enabled(device, on), set_autocast_dtype(device, dtype)) and deprecated the
// per-device-name ones that 1.x has (set_enabled / set_cpu_enabled, set_autocast_gpu_dtype /
// set_autocast_cpu_dtype); TORCH_VERSION_* picks the right ones. Autocast state is
// thread-local: the guard affects only the calling thread.
#ifndef SCANCOV_MODELS_NN_AUTOCAST_H_
#define SCANCOV_MODELS_NN_AUTOCAST_H_

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define SCANCOV_TORCH_PER_DEVICE_AUTOCAST 1
#else
#define SCANCOV_TORCH_PER_DEVICE_AUTOCAST 0
#endif

namespace scancov::nn {

// Enables bfloat16 autocast on `device` (CUDA or CPU; any other type is left alone) when
// `enabled`, for its lifetime, and restores the previous state after.
class Autocast {
 public:
  Autocast(c10::DeviceType device, bool enabled)
      : cuda_(device == c10::DeviceType::CUDA),
        enabled_(enabled && (cuda_ || device == c10::DeviceType::CPU)) {
    if (!enabled_) return;
    was_enabled_ = IsEnabled();
    previous_dtype_ = Dtype();
    Set(true, at::kBFloat16);
    at::autocast::increment_nesting();
  }

  ~Autocast() {
    if (!enabled_) return;
    // The cache of casted weights must not outlive the outermost autocast region.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    Set(was_enabled_, previous_dtype_);
  }

  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
#if SCANCOV_TORCH_PER_DEVICE_AUTOCAST
  c10::DeviceType Type() const { return cuda_ ? c10::DeviceType::CUDA : c10::DeviceType::CPU; }
  bool IsEnabled() const { return at::autocast::is_autocast_enabled(Type()); }
  at::ScalarType Dtype() const { return at::autocast::get_autocast_dtype(Type()); }
  void Set(bool on, at::ScalarType dtype) const {
    at::autocast::set_autocast_dtype(Type(), dtype);
    at::autocast::set_autocast_enabled(Type(), on);
  }
#else
  bool IsEnabled() const {
    return cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
  }
  at::ScalarType Dtype() const {
    return cuda_ ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
  }
  void Set(bool on, at::ScalarType dtype) const {
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(on);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(on);
    }
  }
#endif

  const bool cuda_;
  const bool enabled_;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_AUTOCAST_H_
