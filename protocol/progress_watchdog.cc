#include "protocol/progress_watchdog.h"

#include <algorithm>
#include <utility>

namespace scancov::protocol {

ProgressWatchdog::ProgressWatchdog(absl::Duration idle_timeout, std::function<void()> on_stall,
                                   Clock* clock)
    : idle_timeout_(idle_timeout), on_stall_(std::move(on_stall)), clock_(clock) {
  {
    absl::MutexLock lock(&mu_);
    last_progress_ = clock_->Now();
  }
  thread_ = std::thread([this] { Loop(); });
}

ProgressWatchdog::~ProgressWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void ProgressWatchdog::Progress() {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  last_progress_ = std::max(last_progress_, now);
}

bool ProgressWatchdog::Check() {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (fired_) return true;
    if (now - last_progress_ < idle_timeout_) return false;
    fired_ = true;
  }
  // Outside the lock: TryCancel may call back into code that reports progress.
  if (on_stall_) on_stall_();
  return true;
}

bool ProgressWatchdog::fired() {
  absl::MutexLock lock(&mu_);
  return fired_;
}

void ProgressWatchdog::Loop() {
  // Real time between checks: a few per idle period, so a stall is cut within about
  // idle_timeout * 1.25, and at most a second apart.
  const absl::Duration poll =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(1), absl::Seconds(1));
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), poll)) {
    if (fired_) {
      mu_.Await(absl::Condition(&stop_));  // nothing left to watch
      return;
    }
    mu_.Unlock();
    Check();
    mu_.Lock();
  }
}

}  // namespace scancov::protocol
