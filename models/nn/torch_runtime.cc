#include "models/nn/torch_runtime.h"

#include <torch/cuda.h>

namespace scancov::nn {

absl::Mutex& TorchGeneratorMutex() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}

absl::StatusOr<c10::Device> ResolveTorchDevice(absl::string_view name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "auto" || name == "cuda") {
    if (torch::cuda::is_available()) return c10::Device(c10::kCUDA, 0);
    if (name == "auto") return c10::Device(c10::kCPU);
    return absl::FailedPreconditionError("device 'cuda' requested but CUDA is not available");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device '", name, "' (expected auto, cpu or cuda)"));
}

}  // namespace scancov::nn
