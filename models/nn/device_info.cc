// DeviceInfo without the full LibTorch headers: torch/cuda.h is tiny, and the GPU's name comes
// from the CUDA driver API, opened at run time, because LibTorch's C++ API has no portable call
// for it (at::cuda::getDeviceProperties exists only in CUDA builds of the headers). The thread
// count likewise needs only ATen/Parallel.h.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/cuda.h>

#include <string>

#include "models/nn/local_training.h"

namespace scancov::nn {
namespace {

// The CUDA driver API's stable C ABI (cuda.h): CUresult is an int, CUdevice an int.
using CuInitFn = int (*)(unsigned int);
using CuDeviceGetFn = int (*)(int*, int);
using CuDeviceGetNameFn = int (*)(char*, int, int);

std::string CudaDeviceName() {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return "0";
  std::string name = "0";
  auto init = reinterpret_cast<CuInitFn>(dlsym(lib, "cuInit"));
  auto get = reinterpret_cast<CuDeviceGetFn>(dlsym(lib, "cuDeviceGet"));
  auto get_name = reinterpret_cast<CuDeviceGetNameFn>(dlsym(lib, "cuDeviceGetName"));
  int device = 0;
  char buffer[256] = {};
  if (init != nullptr && get != nullptr && get_name != nullptr && init(0) == 0 &&
      get(&device, 0) == 0 && get_name(buffer, sizeof buffer - 1, device) == 0 &&
      buffer[0] != '\0') {
    name = buffer;
  }
  dlclose(lib);
  return name;
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

}  // namespace scancov::nn
