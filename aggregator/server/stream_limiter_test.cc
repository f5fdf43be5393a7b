#include "aggregator/server/stream_limiter.h"

#include <utility>

#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

TEST(StreamLimiterTest, EachSiteGetsItsOwnNumberOfConcurrentStreams) {
  StreamLimiter limiter(2);
  auto a = limiter.Acquire("kb");
  auto b = limiter.Acquire("kb");
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = limiter.Acquire("kb");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("site 'kb' already has 2 streams open, the limit is 2"),
            std::string::npos)
      << c.status();
  EXPECT_TRUE(limiter.Acquire("igr").ok());  // another site is not affected
  EXPECT_EQ(limiter.active("igr"), 0);       // that ticket was a temporary: released
  {
    StreamLimiter::Ticket moved = std::move(*a);
    EXPECT_EQ(limiter.active("kb"), 2);
  }  // released once, by the ticket it was moved to
  EXPECT_EQ(limiter.active("kb"), 1);
  auto d = limiter.Acquire("kb");
  EXPECT_TRUE(d.ok());
  b->Release();
  b->Release();  // idempotent
  EXPECT_EQ(limiter.active("kb"), 1);
}

}  // namespace
}  // namespace scancov::aggregator
