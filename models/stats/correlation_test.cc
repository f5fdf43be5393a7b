#include "models/stats/correlation.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

const std::vector<double> kX = {1.2, 2.3, 3.1, 4.8, 5.0, 6.7, 7.1, 8.4, 9.9, 10.2};

// Reference: R 4.2.2,
//   x <- c(1.2, 2.3, 3.1, 4.8, 5.0, 6.7, 7.1, 8.4, 9.9, 10.2)
//   y <- c(2.1, 2.9, 2.5, 5.2, 4.1, 7.9, 6.0, 9.5, 8.7, 12.0)
//   t <- cor.test(x, y); t$estimate; t$conf.int; t$statistic; t$p.value
//   cor.test(x, y, conf.level = 0.9)$conf.int
TEST(CorrelationTest, MatchesRCorTest) {
  const std::vector<double> y = {2.1, 2.9, 2.5, 5.2, 4.1, 7.9, 6.0, 9.5, 8.7, 12.0};
  absl::StatusOr<Correlation> c = PearsonCorrelation(kX, y);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectRelative(c->r, 0.946031536308646, 1e-13);
  ExpectRelative(c->ci_lower, 0.782496275639495, 1e-12);
  ExpectRelative(c->ci_upper, 0.98747310158552, 1e-12);
  ExpectRelative(c->t, 8.25668360684168, 1e-12);
  ExpectRelative(c->p_value, 3.47640908745439e-05, 1e-10);
  EXPECT_EQ(c->n, 10);
  absl::StatusOr<Correlation> c90 = PearsonCorrelation(kX, y, 0.9);
  ASSERT_TRUE(c90.ok());
  ExpectRelative(c90->ci_lower, 0.824553292579511, 1e-12);
  ExpectRelative(c90->ci_upper, 0.984130547747258, 1e-12);
}

// Reference: y2 <- c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3); cor.test(x, y2) (a weak correlation whose
// interval spans 0).
TEST(CorrelationTest, WeakCorrelationMatchesR) {
  absl::StatusOr<Correlation> c = PearsonCorrelation(kX, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3});
  ASSERT_TRUE(c.ok());
  ExpectRelative(c->r, 0.34828814419903, 1e-12);
  ExpectRelative(c->ci_lower, -0.360362557083275, 1e-12);
  ExpectRelative(c->ci_upper, 0.802035070595829, 1e-12);
  ExpectRelative(c->t, 1.05090755949036, 1e-12);
  ExpectRelative(c->p_value, 0.324007016060502, 1e-11);
}

TEST(CorrelationTest, RejectsBadInput) {
  EXPECT_EQ(PearsonCorrelation({1, 2}, {1, 2}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PearsonCorrelation({1, 2, 3}, {1, 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PearsonCorrelation({1, 2, std::numeric_limits<double>::quiet_NaN()}, {1, 2, 3})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PearsonCorrelation({1, 1, 1, 1}, {1, 2, 3, 4}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace scancov::stats
