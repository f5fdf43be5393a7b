// Retrier: how the node retries a call to the aggregator that failed transiently (the
// aggregator restarting, a dropped connection, a chunk corrupted in transit): the same call
// again after an exponential backoff with jitter, so that sites do not retry in lock-step. Every
// call of the protocol is idempotent by task id, so repeating one is safe.
//
// Thread safety: not thread-safe (the jitter source); one agent thread uses one Retrier. The
// cancellation flag may be set from any thread.
#ifndef SCANCOV_NODE_RETRY_H_
#define SCANCOV_NODE_RETRY_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/env.h"

namespace scancov::node {

// Transient = worth retrying the same call.
bool IsTransient(const absl::Status& status);

struct RetryOptions {
  Clock* clock = Clock::Real();
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  int attempts = 6;  // tries of one call, the first included
  uint64_t jitter_seed = 1;
};

class Retrier {
 public:
  // `cancelled` (may be null) must outlive the Retrier; once set, no call is tried again.
  Retrier(RetryOptions options, const std::atomic<bool>* cancelled)
      : options_(options), jitter_(options.jitter_seed), cancelled_(cancelled) {}

  // Calls `fn` (returning an absl::Status or StatusOr) until it succeeds, fails
  // non-transiently, attempts run out or the caller is cancelled; returns the last result.
  template <typename Fn>
  auto Call(const char* what, Fn&& fn) -> decltype(fn());
  // Sleeps (on the clock) before retry number `attempt` + 1; returns early once cancelled.
  void Backoff(int attempt);
  // Sleeps `d` on the clock, returning early once cancelled (a SIGTERM during a 30 s backoff
  // stops the node at once instead of after it).
  void SleepUnlessCancelled(absl::Duration d);

  bool cancelled() const { return cancelled_ != nullptr && cancelled_->load(); }
  Clock* clock() const { return options_.clock; }

 private:
  RetryOptions options_;
  Random jitter_;
  const std::atomic<bool>* cancelled_;
};

namespace retry_internal {
void LogRetry(const char* what, const absl::Status& status);
inline const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const T& s) {
  return s.status();
}
}  // namespace retry_internal

template <typename Fn>
auto Retrier::Call(const char* what, Fn&& fn) -> decltype(fn()) {
  for (int attempt = 0;; ++attempt) {
    auto result = fn();
    const absl::Status& status = retry_internal::StatusOf(result);
    if (status.ok() || !IsTransient(status) || attempt + 1 >= options_.attempts || cancelled()) {
      return result;
    }
    retry_internal::LogRetry(what, status);
    Backoff(attempt);
  }
}

}  // namespace scancov::node

#endif  // SCANCOV_NODE_RETRY_H_
