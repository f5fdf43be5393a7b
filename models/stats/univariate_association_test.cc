#include "models/stats/univariate_association.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/test_data.h"

namespace scancov::stats {
namespace {

using test_data::kX1;
using test_data::kX2;
using test_data::kX3;
using test_data::kY;

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// Reference: R 4.2.2, with x1, x2, x3, y defined as the vectors of test_data.h:
//   ctl <- glm.control(epsilon = 1e-14, maxit = 100)
//   u <- glm(y ~ x1, family = binomial, control = ctl); su <- coef(summary(u))
//   b <- su[2,1] * sd(x1); se <- su[2,2] * sd(x1)
//   sd(x1); exp(b); exp(b + c(-1,1) * qnorm(0.975) * se); su[2,3]; su[2,4]
TEST(UnivariateAssociationTest, ContinuousOddsRatioPerSdMatchesR) {
  absl::StatusOr<Association> a = UnivariateAssociation(kX1, kY, VariableKind::kContinuous);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectRelative(a->scale, 9.84971169693918, 1e-12);
  ExpectRelative(a->odds_ratio, 1.95125555783185, 1e-9);
  ExpectRelative(a->ci_lower, 0.923400335515737, 1e-9);
  ExpectRelative(a->ci_upper, 4.12323680805591, 1e-9);
  ExpectRelative(a->z, 1.75119432614449, 1e-9);
  ExpectRelative(a->p_value, 0.0799124424791822, 1e-9);
  EXPECT_EQ(a->n, 40);
  EXPECT_EQ(a->events, 16);
}

// Reference: as above with y ~ x3 (a protective variable: z < 0 must stay negative).
TEST(UnivariateAssociationTest, NegativeDirectionKeepsItsSign) {
  absl::StatusOr<Association> a = UnivariateAssociation(kX3, kY, VariableKind::kContinuous);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectRelative(a->odds_ratio, 0.6576869442067, 1e-9);
  ExpectRelative(a->ci_lower, 0.336864494804064, 1e-9);
  ExpectRelative(a->ci_upper, 1.28405374639301, 1e-9);
  ExpectRelative(a->z, -1.2275292048431, 1e-9);
  ExpectRelative(a->p_value, 0.219623752001391, 1e-9);
}

// Reference: u2 <- glm(y ~ x2, family = binomial, control = ctl); s2 <- coef(summary(u2))
//   exp(s2[2,1]); exp(s2[2,1] + c(-1,1) * qnorm(0.975) * s2[2,2]); s2[2,3]; s2[2,4]
TEST(UnivariateAssociationTest, BinaryOddsRatioMatchesR) {
  absl::StatusOr<Association> a = UnivariateAssociation(kX2, kY, VariableKind::kBinary);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectRelative(a->odds_ratio, 2.2, 1e-9);  // (11 / 12) / (5 / 12), the 2x2 table
  ExpectRelative(a->ci_lower, 0.584296065491238, 1e-9);
  ExpectRelative(a->ci_upper, 8.28347183192283, 1e-9);
  ExpectRelative(a->z, 1.16559240262388, 1e-9);
  ExpectRelative(a->p_value, 0.243779280995776, 1e-9);
  EXPECT_EQ(a->scale, 1.0);
}

TEST(UnivariateAssociationTest, MissingValuesAreRejectedOrDropped) {
  std::vector<double> x = kX1;
  x[4] = std::numeric_limits<double>::quiet_NaN();
  absl::Status status = UnivariateAssociation(x, kY, VariableKind::kContinuous).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("x[4] is NaN"), absl::string_view::npos) << status;
  AssociationOptions drop;
  drop.drop_missing_x = true;
  absl::StatusOr<Association> a = UnivariateAssociation(x, kY, VariableKind::kContinuous, drop);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->n, 39);
  EXPECT_EQ(a->events, 15);  // row 4 had y = 1
}

TEST(UnivariateAssociationTest, RejectsBadInput) {
  EXPECT_EQ(UnivariateAssociation({}, {}, VariableKind::kContinuous).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UnivariateAssociation(std::vector<double>(39, 1.0), kY, VariableKind::kContinuous)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UnivariateAssociation(kX1, kY, VariableKind::kBinary).status().code(),
            absl::StatusCode::kInvalidArgument);  // x1 is not 0/1
  EXPECT_EQ(UnivariateAssociation(std::vector<double>(40, 3.0), kY, VariableKind::kContinuous)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  AssociationOptions bad_level;
  bad_level.confidence_level = 1.0;
  EXPECT_EQ(UnivariateAssociation(kX1, kY, VariableKind::kContinuous, bad_level).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(UnivariateAssociationTest, LevelWithoutEventsIsSeparation) {
  const std::vector<double> x = {0, 0, 0, 0, 1, 1, 1};
  const std::vector<double> y = {0, 1, 0, 1, 0, 0, 0};
  absl::Status status = UnivariateAssociation(x, y, VariableKind::kBinary).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("separation"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace scancov::stats
