#include "models/stats/multiple_testing.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

void ExpectAllNear(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-14) << i;
}

// Reference: R 4.2.2,
//   p <- c(0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.04)
//   p.adjust(p, "bonferroni"); p.adjust(p, "holm"); p.adjust(p, "BH")
const std::vector<double> kP = {0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.04};

TEST(MultipleTestingTest, BonferroniMatchesR) {
  absl::StatusOr<std::vector<double>> adjusted = AdjustPValues(kP, Adjustment::kBonferroni);
  ASSERT_TRUE(adjusted.ok());
  ExpectAllNear(*adjusted, {0.07, 0.28, 0.21, 0.035, 1, 1, 0.28});
}

TEST(MultipleTestingTest, HolmMatchesR) {
  absl::StatusOr<std::vector<double>> adjusted = AdjustPValues(kP, Adjustment::kHolm);
  ASSERT_TRUE(adjusted.ok());
  ExpectAllNear(*adjusted, {0.06, 0.16, 0.15, 0.035, 0.5, 0.4, 0.16});
}

TEST(MultipleTestingTest, BenjaminiHochbergMatchesR) {
  absl::StatusOr<std::vector<double>> adjusted = AdjustPValues(kP, Adjustment::kBenjaminiHochberg);
  ASSERT_TRUE(adjusted.ok());
  ExpectAllNear(*adjusted, {0.035, 0.056, 0.056, 0.035, 0.5, 0.233333333333333, 0.056});
}

TEST(MultipleTestingTest, RejectsInvalidPValues) {
  for (Adjustment m :
       {Adjustment::kBonferroni, Adjustment::kHolm, Adjustment::kBenjaminiHochberg}) {
    EXPECT_EQ(AdjustPValues({}, m).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(AdjustPValues({0.1, 0.0}, m).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(AdjustPValues({0.1, 1.01}, m).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(AdjustPValues({std::numeric_limits<double>::quiet_NaN()}, m).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace scancov::stats
