#include "privacy/dp/gaussian_source.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::privacy::dp {
namespace {

// Over n = 10^6 standard normals: mean within 5 / sqrt(n), variance within 5 sqrt(2 / n), and
// the fraction inside [-1, 1] within 5 sqrt(p (1 - p) / n) of p = erf(1 / sqrt 2) = 0.682689.
void ExpectStandardNormal(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  double sum = 0, sum_sq = 0, inside = 0;
  for (double v : x) {
    sum += v;
    sum_sq += v * v;
    inside += std::fabs(v) <= 1.0 ? 1 : 0;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR((sum_sq - n * mean * mean) / (n - 1), 1.0, 5 * std::sqrt(2 / n));
  const double p = std::erf(1 / std::sqrt(2.0));
  EXPECT_NEAR(inside / n, p, 5 * std::sqrt(p * (1 - p) / n));
}

TEST(GaussianSourceTest, CsprngGivesStandardNormals) {
  CsprngGaussianSource source;
  std::vector<double> x(1'000'000);
  ASSERT_TRUE(source.FillStandardNormal(absl::MakeSpan(x)).ok());
  ExpectStandardNormal(x);
}

TEST(GaussianSourceTest, CsprngNeverRepeatsAndFillsOddLengths) {
  CsprngGaussianSource a, b;
  std::vector<double> x(7), y(7);
  ASSERT_TRUE(a.FillStandardNormal(absl::MakeSpan(x)).ok());
  ASSERT_TRUE(b.FillStandardNormal(absl::MakeSpan(y)).ok());
  EXPECT_NE(x, y);
  for (double v : x) EXPECT_TRUE(std::isfinite(v));
}

TEST(GaussianSourceTest, SeededSourceIsReproducible) {
  Random r1(11), r2(11);
  SeededGaussianSource a(&r1), b(&r2);
  std::vector<double> x(1000), y(1000);
  ASSERT_TRUE(a.FillStandardNormal(absl::MakeSpan(x)).ok());
  ASSERT_TRUE(b.FillStandardNormal(absl::MakeSpan(y)).ok());
  EXPECT_EQ(x, y);
  std::vector<double> big(1'000'000);
  ASSERT_TRUE(a.FillStandardNormal(absl::MakeSpan(big)).ok());
  ExpectStandardNormal(big);
}

}  // namespace
}  // namespace scancov::privacy::dp
