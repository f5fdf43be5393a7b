// The Retrier's sleeps end once the node is cancelled (SIGTERM from systemctl stop), instead of
// running to the end of a backoff of up to 30 s.
#include "node/retry.h"

#include <atomic>

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

// A fake clock on which the node is stopped once `stop_after` has been slept.
class StoppingClock : public FakeClock {
 public:
  StoppingClock(std::atomic<bool>* cancelled, absl::Duration stop_after)
      : cancelled_(cancelled), stop_after_(stop_after) {}
  void SleepFor(absl::Duration d) override {
    FakeClock::SleepFor(d);
    if (TotalSlept() >= stop_after_) *cancelled_ = true;
  }

 private:
  std::atomic<bool>* cancelled_;
  absl::Duration stop_after_;
};

TEST(RetrierTest, ABackoffEndsOnceCancelled) {
  std::atomic<bool> cancelled{false};
  StoppingClock clock(&cancelled, absl::Seconds(1));
  RetryOptions options;
  options.clock = &clock;
  options.max_backoff = absl::Seconds(30);
  Retrier retrier(options, &cancelled);
  retrier.Backoff(10);  // 0.5 s * 2^10, capped at 30 s, jittered to at least 15 s
  EXPECT_TRUE(cancelled);
  EXPECT_GE(clock.TotalSlept(), absl::Seconds(1));
  EXPECT_LT(clock.TotalSlept(), absl::Seconds(2));

  retrier.SleepUnlessCancelled(absl::Seconds(20));  // already cancelled: no sleep at all
  EXPECT_LT(clock.TotalSlept(), absl::Seconds(2));
}

TEST(RetrierTest, AnUncancelledSleepLastsItsWholeTime) {
  FakeClock clock;
  RetryOptions options;
  options.clock = &clock;
  Retrier retrier(options, nullptr);
  retrier.SleepUnlessCancelled(absl::Milliseconds(1234));
  EXPECT_EQ(clock.TotalSlept(), absl::Milliseconds(1234));
}

}  // namespace
}  // namespace scancov::node
