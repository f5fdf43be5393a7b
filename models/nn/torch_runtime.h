// What every LibTorch entry point of models/nn shares (internal; includes only small c10
// headers): the mutex around LibTorch's process-wide default generator, device selection, and
// the guard that turns LibTorch exceptions into a Status.
#ifndef SCANCOV_MODELS_NN_TORCH_RUNTIME_H_
#define SCANCOV_MODELS_NN_TORCH_RUNTIME_H_

#include <c10/core/Device.h>
#include <c10/util/Exception.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"

namespace scancov::nn {

// Held by whoever seeds or draws from LibTorch's default generator (torch::manual_seed,
// default parameter initialisation, Dropout), so that seeded sequences are not interleaved.
absl::Mutex& TorchGeneratorMutex();

// "cpu", "cuda" (FailedPrecondition without CUDA) or "auto" (CUDA device 0 when available).
absl::StatusOr<c10::Device> ResolveTorchDevice(absl::string_view name);

// Runs `body` and prefixes a failure with `where`, turning LibTorch and standard exceptions
// into an Internal status: no exception leaves the caller.
template <typename Body>
auto Guarded(absl::string_view where, Body body) -> decltype(body()) {
  try {
    auto result = body();
    if (!result.ok()) return Annotate(result.status(), where);
    return result;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(where, ": ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(where, ": ", e.what()));
  }
}

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_TORCH_RUNTIME_H_
