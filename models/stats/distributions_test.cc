#include "models/stats/distributions.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// Reference: scipy 1.10.1, stats.norm.cdf(z) and stats.norm.sf(z).
TEST(DistributionsTest, NormalCdfMatchesScipy) {
  ExpectRelative(NormalCdf(-8.0), 6.22096057427174e-16, 1e-13);
  ExpectRelative(NormalCdf(-1.5), 0.06680720126885807, 1e-14);
  ExpectRelative(NormalCdf(0.3), 0.6179114221889526, 1e-14);
  ExpectRelative(NormalSf(2.5), 0.006209665325776132, 1e-14);
  ExpectRelative(NormalSf(37.5), 4.605353009581954e-308, 1e-12);
  ExpectRelative(TwoSidedNormalP(-2.5), 2 * 0.006209665325776132, 1e-14);
}

// Reference: scipy 1.10.1, stats.norm.ppf(p).
TEST(DistributionsTest, NormalQuantileMatchesScipy) {
  ExpectRelative(NormalQuantile(1e-300), -37.0470962993612, 1e-13);
  ExpectRelative(NormalQuantile(1e-20), -9.262340089798409, 1e-13);
  ExpectRelative(NormalQuantile(0.001), -3.090232306167813, 1e-13);
  ExpectRelative(NormalQuantile(0.025), -1.9599639845400545, 1e-13);
  ExpectRelative(NormalQuantile(0.3), -0.5244005127080409, 1e-13);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-15);
  ExpectRelative(NormalQuantile(0.8), 0.8416212335729143, 1e-13);
  ExpectRelative(NormalQuantile(0.999999), 4.753424308817087, 1e-9);
  ExpectRelative(TwoSidedCriticalValue(0.95), 1.959963984540054, 1e-13);
  EXPECT_EQ(NormalQuantile(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
  EXPECT_TRUE(std::isnan(NormalQuantile(std::numeric_limits<double>::quiet_NaN())));
}

// Reference: scipy 1.10.1, stats.chi2.sf(x, df).
TEST(DistributionsTest, ChiSquareSfMatchesScipy) {
  ExpectRelative(ChiSquareSf(0.5, 1), 0.47950012218695337, 1e-12);
  ExpectRelative(ChiSquareSf(3.84, 1), 0.05004352124870519, 1e-12);
  ExpectRelative(ChiSquareSf(10.0, 4), 0.04042768199451279, 1e-12);
  ExpectRelative(ChiSquareSf(45.3, 6), 4.0797922753522595e-08, 1e-12);
  ExpectRelative(ChiSquareSf(150.0, 2), 2.678636961808087e-33, 1e-12);
  ExpectRelative(ChiSquareSf(0.01, 10), 0.999999999999974, 1e-12);
  ExpectRelative(ChiSquareSf(200.0, 120), 6.341503427369146e-06, 1e-11);
  EXPECT_EQ(ChiSquareSf(0.0, 3), 1.0);
  EXPECT_TRUE(std::isnan(ChiSquareSf(1.0, 0.0)));
}

// Reference: scipy 1.10.1, 2 * stats.t.sf(abs(t), df).
TEST(DistributionsTest, StudentTMatchesScipy) {
  ExpectRelative(StudentTTwoSidedP(2.0, 5), 0.10193947882985828, 1e-12);
  ExpectRelative(StudentTTwoSidedP(0.3, 38), 0.7658121779878071, 1e-12);
  ExpectRelative(StudentTTwoSidedP(-4.5, 10), 0.001143105086804065, 1e-12);
  ExpectRelative(StudentTTwoSidedP(12.0, 3), 0.001245015800789336, 1e-12);
  ExpectRelative(StudentTTwoSidedP(1.96, 1000), 0.05027318495574871, 1e-12);
}

}  // namespace
}  // namespace scancov::stats
