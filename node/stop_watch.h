// StopWatch: while a task runs, turns the node's stop (SIGTERM: NodeAgent::Cancel, an atomic
// flag a signal handler may set) into a cancellation of the task's Progress once `grace` has
// passed, so that the task stops at its next check and the node exits before systemd's
// TimeoutStopSec kills it. A signal handler cannot cancel the Progress itself: that takes a lock.
//
// Thread safety: the watch runs on its own thread, polling the flag every 200 ms; `cancelled`,
// `clock` and `progress` must outlive the StopWatch, whose destructor stops and joins it.
#ifndef SCANCOV_NODE_STOP_WATCH_H_
#define SCANCOV_NODE_STOP_WATCH_H_

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/env.h"
#include "core/progress.h"

namespace scancov::node {

class StopWatch {
 public:
  StopWatch(const std::atomic<bool>* cancelled, absl::Duration grace, Clock* clock,
            Progress* progress);
  ~StopWatch();
  StopWatch(const StopWatch&) = delete;
  StopWatch& operator=(const StopWatch&) = delete;

 private:
  void Watch(const std::atomic<bool>* cancelled, absl::Duration grace, Clock* clock,
             Progress* progress);

  absl::Notification done_;  // before thread_: the thread reads it from its start
  std::thread thread_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_STOP_WATCH_H_
