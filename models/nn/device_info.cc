// DeviceInfo without the full LibTorch headers: torch/cuda.h is tiny, and the GPU's name comes
// from the CUDA driver API, opened at run time, because LibTorch's C++ API has no portable call
// for it (at::cuda::getDeviceProperties exists only in CUDA builds of the headers); so does its
// compute capability (precision.h). The thread count likewise needs only ATen/Parallel.h.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/cuda.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "models/nn/local_training.h"
#include "models/nn/precision.h"

namespace scancov::nn {
namespace {

// The CUDA driver API's stable C ABI (cuda.h): CUresult is an int, CUdevice an int.
using CuInitFn = int (*)(unsigned int);
using CuDeviceGetFn = int (*)(int*, int);
using CuDeviceGetNameFn = int (*)(char*, int, int);
using CuDeviceGetAttributeFn = int (*)(int*, int, int);
constexpr int kCuComputeCapabilityMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR

// Calls query(lib, device 0) with the driver opened and initialised; false without a driver or
// a device (or when the query says so).
template <typename Query>
bool WithCudaDevice0(Query query) {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  auto init = reinterpret_cast<CuInitFn>(dlsym(lib, "cuInit"));
  auto get = reinterpret_cast<CuDeviceGetFn>(dlsym(lib, "cuDeviceGet"));
  int device = 0;
  const bool ok = init != nullptr && get != nullptr && init(0) == 0 && get(&device, 0) == 0 &&
                  query(lib, device);
  dlclose(lib);
  return ok;
}

std::string CudaDeviceName() {
  std::string name = "0";
  WithCudaDevice0([&](void* lib, int device) {
    auto get_name = reinterpret_cast<CuDeviceGetNameFn>(dlsym(lib, "cuDeviceGetName"));
    char buffer[256] = {};
    if (get_name == nullptr || get_name(buffer, sizeof buffer - 1, device) != 0 ||
        buffer[0] == '\0') {
      return false;
    }
    name = buffer;
    return true;
  });
  return name;
}

// Compute capability major of CUDA device 0; 0 when unknown.
int CudaComputeCapabilityMajor() {
  int major = 0;
  WithCudaDevice0([&](void* lib, int device) {
    auto attribute = reinterpret_cast<CuDeviceGetAttributeFn>(dlsym(lib, "cuDeviceGetAttribute"));
    return attribute != nullptr && attribute(&major, kCuComputeCapabilityMajor, device) == 0;
  });
  return major;
}

}  // namespace

std::string DeviceInfo() {
  static const std::string* info = [] {
    try {
      if (torch::cuda::is_available()) return new std::string("cuda:" + CudaDeviceName());
    } catch (...) {
      // A broken CUDA installation reports itself as unavailable.
    }
    return new std::string("cpu");
  }();
  return *info;
}

void SetTorchThreads(int threads) {
  if (threads >= 1) at::set_num_threads(threads);
}

int TorchThreads() { return at::get_num_threads(); }

std::string PrecisionName(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

bool NativeBFloat16(bool cuda) {
  if (cuda) {
    static const bool ampere = CudaComputeCapabilityMajor() >= 8;
    return ampere;
  }
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

absl::StatusOr<Precision> ResolvePrecision(absl::string_view name, bool cuda) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  if (name == "auto") return NativeBFloat16(cuda) ? Precision::kBFloat16 : Precision::kFloat32;
  return absl::InvalidArgumentError(
      absl::StrCat("precision must be \"fp32\", \"bf16\" or \"auto\", not \"", name, "\""));
}

absl::StatusOr<Precision> ResolvePrecisionOn(absl::string_view name, absl::string_view device) {
  const bool cuda = device == "cuda" || (device == "auto" && DeviceInfo().rfind("cuda", 0) == 0);
  return ResolvePrecision(name, cuda);
}

}  // namespace scancov::nn
