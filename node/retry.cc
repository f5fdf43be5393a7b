#include "node/retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace scancov::node {

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

namespace retry_internal {
void LogRetry(const char* what, const absl::Status& status) {
  spdlog::warn("{} failed ({}), retrying", what, std::string(status.message()));
}
}  // namespace retry_internal

void Retrier::Backoff(int attempt) {
  absl::Duration d = options_.initial_backoff * (1 << std::min(attempt, 16));
  d = std::min(d, options_.max_backoff);
  d = d * (0.5 + 0.5 * jitter_.Uniform());  // jitter so sites do not retry in lock-step
  SleepUnlessCancelled(d);
}

void Retrier::SleepUnlessCancelled(absl::Duration d) {
  // Slices short enough for systemd's stop to feel immediate; a fake clock sees the same total.
  constexpr absl::Duration kSlice = absl::Milliseconds(200);
  while (d > absl::ZeroDuration() && !cancelled()) {
    const absl::Duration step = std::min(d, kSlice);
    options_.clock->SleepFor(step);
    d -= step;
  }
}

}  // namespace scancov::node
