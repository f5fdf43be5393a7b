// ProgressWatchdog: cancels a call that stops moving, never one that moves slowly.
//
// A fixed deadline cannot tell a 750 MB upload over a slow hospital link from a stalled one: it
// either cuts the first or waits forever for the second. The watchdog instead runs `on_stall`
// (e.g. `[&] { context.TryCancel(); }`) once no Progress() has been reported for
// `idle_timeout`. Callers report progress after each message written or read.
//
//   ProgressWatchdog watchdog(absl::Seconds(60), [&] { context.TryCancel(); });
//   while (encoder.Next(&chunk) && writer->Write(message)) watchdog.Progress();
//   if (watchdog.fired()) ...  // the call was cut for lack of progress
//
// Time is read from the injected Clock; a background thread checks it a few times per
// idle_timeout (at most every second). Thread safety: Progress, Check and fired may be called
// from any thread; `on_stall` runs at most once, on the watchdog's thread (or the caller of
// Check), and must not destroy the watchdog. The destructor stops and joins the thread.
#ifndef SCANCOV_PROTOCOL_PROGRESS_WATCHDOG_H_
#define SCANCOV_PROTOCOL_PROGRESS_WATCHDOG_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/env.h"

namespace scancov::protocol {

class ProgressWatchdog {
 public:
  ProgressWatchdog(absl::Duration idle_timeout, std::function<void()> on_stall,
                   Clock* clock = Clock::Real());
  ~ProgressWatchdog();
  ProgressWatchdog(const ProgressWatchdog&) = delete;
  ProgressWatchdog& operator=(const ProgressWatchdog&) = delete;

  // The call moved (a message was written or read): the idle time starts again.
  void Progress();
  // Fires `on_stall` if the call has been idle for idle_timeout; true if it has fired (now or
  // before). The background thread calls this; tests with a FakeClock may call it directly.
  bool Check();
  bool fired();
  absl::Duration idle_timeout() const { return idle_timeout_; }

 private:
  void Loop();

  const absl::Duration idle_timeout_;
  const std::function<void()> on_stall_;
  Clock* const clock_;
  absl::Mutex mu_;
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_PROGRESS_WATCHDOG_H_
