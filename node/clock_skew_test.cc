#include "node/clock_skew.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

const absl::Time kSent = absl::FromUnixMillis(1'700'000'000'000);

TEST(ClockSkewTest, TakesHalfTheRoundTripOff) {
  // Sent at T, answered at T + 200 ms; the aggregator read T + 10 min + 100 ms: it read its
  // clock in the middle of the call, so this clock is exactly 10 minutes behind.
  const std::optional<ClockSkew> skew =
      MeasureClockSkew(absl::ToUnixMillis(kSent + absl::Minutes(10) + absl::Milliseconds(100)),
                       kSent, kSent + absl::Milliseconds(200));
  ASSERT_TRUE(skew.has_value());
  EXPECT_EQ(skew->skew, absl::Minutes(10));
  EXPECT_EQ(skew->round_trip, absl::Milliseconds(200));
  EXPECT_THAT(DescribeClockSkew(*skew),
              HasSubstr("this clock is 10m behind the aggregator's (round trip 200ms"));
  const std::optional<ClockSkew> ahead = MeasureClockSkew(
      absl::ToUnixMillis(kSent - absl::Seconds(45)), kSent, kSent + absl::Milliseconds(2));
  ASSERT_TRUE(ahead.has_value());
  EXPECT_EQ(ahead->skew, -absl::Seconds(45) - absl::Milliseconds(1));
  EXPECT_THAT(DescribeClockSkew(*ahead), HasSubstr("45.001s ahead of the aggregator's"));
  // Within the millisecond: not "0 ahead".
  const std::optional<ClockSkew> same =
      MeasureClockSkew(absl::ToUnixMillis(kSent), kSent, kSent + absl::Microseconds(400));
  ASSERT_TRUE(same.has_value());
  EXPECT_THAT(DescribeClockSkew(*same),
              HasSubstr("this clock agrees with the aggregator's to the millisecond (round trip"));
}

TEST(ClockSkewTest, AnAggregatorThatSendsNoTimeMeasuresNothing) {
  EXPECT_FALSE(MeasureClockSkew(0, kSent, kSent + absl::Milliseconds(5)).has_value());
  ClockSkewWatch watch;
  EXPECT_FALSE(watch.Observe("Register", 0, kSent, kSent));
  EXPECT_FALSE(watch.warned());
}

TEST(ClockSkewTest, TheWatchWarnsOnceBeyondTheLimitOnly) {
  ClockSkewWatch watch;
  const auto at = [](absl::Duration off) { return absl::ToUnixMillis(kSent + off); };
  EXPECT_FALSE(watch.Observe("Register", at(kMaxClockSkew - absl::Seconds(1)), kSent, kSent));
  EXPECT_FALSE(watch.warned());
  EXPECT_TRUE(watch.Observe("Heartbeat", at(-absl::Minutes(10)), kSent, kSent));
  EXPECT_TRUE(watch.warned());
  EXPECT_FALSE(watch.Observe("Heartbeat", at(absl::Minutes(10)), kSent, kSent))
      << "logged once, not at every heartbeat";
}

}  // namespace
}  // namespace scancov::node
