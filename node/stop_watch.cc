#include "node/stop_watch.h"

namespace scancov::node {

StopWatch::StopWatch(const std::atomic<bool>* cancelled, absl::Duration grace, Clock* clock,
                     Progress* progress)
    : thread_([=] { Watch(cancelled, grace, clock, progress); }) {}

StopWatch::~StopWatch() {
  done_.Notify();
  thread_.join();
}

void StopWatch::Watch(const std::atomic<bool>* cancelled, absl::Duration grace, Clock* clock,
                      Progress* progress) {
  absl::Time stop_at = absl::InfiniteFuture();
  while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
    if (!cancelled->load()) continue;
    if (stop_at == absl::InfiniteFuture()) stop_at = clock->Now() + grace;
    if (clock->Now() >= stop_at) {
      progress->Cancel("the node is stopping (SIGTERM); the task runs again when offered again");
      return;
    }
  }
}

}  // namespace scancov::node
