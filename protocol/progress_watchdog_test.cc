#include "protocol/progress_watchdog.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace scancov::protocol {
namespace {

TEST(ProgressWatchdogTest, ATransferThatMovesIsNeverCutAStalledOneIs) {
  FakeClock clock;
  std::atomic<int> cancels{0};
  ProgressWatchdog watchdog(
      absl::Seconds(60), [&] { ++cancels; }, &clock);
  // Twenty minutes of slow progress (one chunk every 50 s): longer than any fixed deadline.
  for (int i = 0; i < 24; ++i) {
    clock.Advance(absl::Seconds(50));
    EXPECT_FALSE(watchdog.Check());
    watchdog.Progress();
  }
  EXPECT_EQ(cancels, 0);
  clock.Advance(absl::Seconds(59));
  EXPECT_FALSE(watchdog.Check());
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(watchdog.Check());
  EXPECT_TRUE(watchdog.fired());
  EXPECT_TRUE(watchdog.Check());  // fires once
  watchdog.Progress();            // too late: a cancelled call stays cancelled
  EXPECT_TRUE(watchdog.fired());
  EXPECT_EQ(cancels, 1);
}

TEST(ProgressWatchdogTest, ItsThreadCancelsAStalledCallOnItsOwn) {
  std::atomic<int> cancels{0};
  absl::Notification cancelled;
  ProgressWatchdog watchdog(absl::Milliseconds(100), [&] {
    ++cancels;
    cancelled.Notify();
  });
  for (int i = 0; i < 20; ++i) {  // moving: 20 x 10 ms, never 100 ms idle
    absl::SleepFor(absl::Milliseconds(10));
    watchdog.Progress();
  }
  EXPECT_FALSE(watchdog.fired());
  EXPECT_TRUE(cancelled.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(watchdog.fired());
  EXPECT_EQ(cancels, 1);
}

}  // namespace
}  // namespace scancov::protocol
