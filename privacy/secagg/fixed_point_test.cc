#include "privacy/secagg/fixed_point.h"

#include <cmath>
#include <limits>

#include "core/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::secagg {
namespace {

using ::testing::HasSubstr;

TEST(FixedPointTest, EncodesWithinHalfAStepAndNegativesDecode) {
  auto codec = FixedPointCodec::Create({16, 10.0, 8});
  ASSERT_TRUE(codec.ok()) << codec.status();
  const std::vector<double> values = {0.0, 1.0, -1.0, 3.14159265, -9.99999, 10.0, -10.0, 1e-9};
  auto encoded = codec->Encode(values);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ((*encoded)[2], ~uint64_t{0} - 65535);  // -2^16 in two's complement
  const std::vector<double> decoded = codec->Decode(*encoded);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_LE(std::fabs(decoded[i] - values[i]), std::ldexp(1.0, -17)) << i;
  }
  EXPECT_EQ(codec->resolution(), std::ldexp(1.0, -16));
}

TEST(FixedPointTest, SumOfEncodingsDecodesWithinNHalfSteps) {
  const int f = 20, n = 50;
  auto codec = FixedPointCodec::Create({f, 100.0, n});
  ASSERT_TRUE(codec.ok());
  Random random(5);
  std::vector<uint64_t> ring(64, 0);
  std::vector<double> plain(64, 0.0);
  for (int s = 0; s < n; ++s) {
    std::vector<double> x(64);
    for (double& v : x) v = 200.0 * random.Uniform() - 100.0;
    auto e = codec->Encode(x);
    ASSERT_TRUE(e.ok());
    for (size_t i = 0; i < x.size(); ++i) {
      ring[i] += (*e)[i];
      plain[i] += x[i];
    }
  }
  const std::vector<double> sum = codec->Decode(ring);
  for (size_t i = 0; i < sum.size(); ++i) {
    EXPECT_LE(std::fabs(sum[i] - plain[i]), n * std::ldexp(1.0, -(f + 1)) + 1e-9) << i;
  }
}

TEST(FixedPointTest, RefusesNonFiniteAndOutOfRangeByIndex) {
  auto codec = FixedPointCodec::Create({16, 10.0, 8});
  ASSERT_TRUE(codec.ok());
  auto nan = codec->Encode({1.0, 2.0, std::numeric_limits<double>::quiet_NaN()});
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nan.status().message(), HasSubstr("element 2 is not finite"));
  auto inf = codec->Encode({std::numeric_limits<double>::infinity()});
  EXPECT_THAT(inf.status().message(), HasSubstr("element 0 is not finite"));
  auto big = codec->Encode({1.0, -10.5});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("element 1 is outside the declared range"));
  EXPECT_THAT(big.status().message(), ::testing::Not(HasSubstr("10.5")));  // no data values
}

TEST(FixedPointTest, RefusesParametersThatCouldOverflow) {
  // 2^52 per value: 2047 summands fit below 2^63, 2048 reach it.
  EXPECT_TRUE(FixedPointCodec::Create({52, 1.0, 2047}).ok());
  auto edge = FixedPointCodec::Create({52, 1.0, 2048});
  EXPECT_EQ(edge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(edge.status().message(), HasSubstr("could overflow 2^63"));
  EXPECT_FALSE(FixedPointCodec::Create({40, 1e6, 1000}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({63, 1.0, 1}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({-1, 1.0, 1}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({16, 0.0, 1}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({16, std::nan(""), 1}).ok());
  EXPECT_FALSE(FixedPointCodec::Create({16, 1.0, 0}).ok());
}

TEST(FixedPointTest, ExtremeSumDoesNotWrap) {
  const int n = 2047;
  auto codec = FixedPointCodec::Create({52, 1.0, n});
  ASSERT_TRUE(codec.ok());
  auto e = codec->Encode({-1.0});
  ASSERT_TRUE(e.ok());
  uint64_t ring = 0;
  for (int i = 0; i < n; ++i) ring += (*e)[0];
  EXPECT_EQ(codec->Decode({ring})[0], -n);
}

}  // namespace
}  // namespace scancov::privacy::secagg
