#include "models/stats/logistic_regression.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/test_data.h"

namespace scancov::stats {
namespace {

using test_data::kW;
using test_data::kY;
using test_data::LogisticDesign;
using test_data::ToEigen;

void ExpectNear(const Eigen::VectorXd& actual, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(actual.size(), static_cast<Eigen::Index>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tol * (1.0 + std::fabs(expected[i]))) << "index " << i;
  }
}

// Reference: R 4.2.2, with x1, x2, x3, y, w defined as the vectors of test_data.h:
//   ctl <- glm.control(epsilon = 1e-14, maxit = 100)
//   f <- glm(y ~ x1 + x2 + x3, family = binomial, control = ctl)
//   s <- coef(summary(f)); s[,1]; s[,2]; s[,3]; s[,4]; logLik(f); vcov(f)
TEST(LogisticRegressionTest, MatchesRGlm) {
  absl::StatusOr<LogisticFit> fit = FitLogistic(LogisticDesign(), ToEigen(kY));
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectNear(fit->coefficients,
             {-4.86889060909645, 0.0805627947020483, 1.06421595087416, -0.734427769698253}, 1e-9);
  ExpectNear(fit->standard_errors,
             {2.11605409239684, 0.0416596575211993, 0.767353881722121, 0.457484382867859}, 1e-9);
  ExpectNear(fit->z, {-2.30092918068153, 1.93383238114841, 1.38686462168643, -1.60536140074182},
             1e-9);
  ExpectNear(fit->p_values,
             {0.021395634389278, 0.0531337400950752, 0.165483047502093, 0.108414293817371}, 1e-9);
  EXPECT_NEAR(fit->log_likelihood, -22.9815219137547, 1e-10);
  EXPECT_NEAR(fit->covariance(0, 1), -0.0843168482608557, 1e-10);
  EXPECT_NEAR(fit->covariance(2, 3), -0.0977238211261138, 1e-10);
  EXPECT_EQ(fit->num_observations, 40);
  EXPECT_EQ(fit->num_events, 16);
  EXPECT_GT(fit->iterations, 2);
}

// Reference: R, frequency weights w from test_data.h:
//   fw <- glm(y ~ x1 + x2 + x3, family = binomial, weights = w, control = ctl)
//   coef(summary(fw))[, c(1, 2, 4)]; logLik(fw)
TEST(LogisticRegressionTest, WeightedMatchesRGlm) {
  absl::StatusOr<LogisticFit> fit = FitLogistic(LogisticDesign(), ToEigen(kY), ToEigen(kW));
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectNear(fit->coefficients,
             {-6.18510822372286, 0.0996890662492192, 1.32586217617447, -0.922779912304636}, 1e-9);
  ExpectNear(fit->standard_errors,
             {1.71099057085598, 0.0331368902998725, 0.57138026592432, 0.383153558090618}, 1e-9);
  ExpectNear(fit->p_values,
             {0.000300430765238326, 0.00262626031206748, 0.0203162783314596, 0.0160234304539401},
             1e-9);
  EXPECT_NEAR(fit->log_likelihood, -43.8179735885478, 1e-10);
  EXPECT_DOUBLE_EQ(fit->weight_sum, 82.0);
}

// Reference: scikit-learn 1.2.1 (its objective is C * loss + |w|^2 / 2, intercept not
// penalised, so l2_penalty = 1 / C); standard errors from the penalised information by numpy:
//   m = LogisticRegression(C=C, penalty="l2", solver="lbfgs", tol=1e-14,
//                          max_iter=100000).fit(X, y)
//   beta = [m.intercept_, *m.coef_[0]]; mu = expit(D @ beta)
//   H = D.T @ (D * (mu * (1 - mu))[:, None]) + np.diag([0, 1, 1, 1]) / C
//   np.sqrt(np.diag(np.linalg.inv(H)))
TEST(LogisticRegressionTest, L2PenaltyMatchesScikitLearn) {
  struct Case {
    double c;
    std::vector<double> coef;
    std::vector<double> se;
  };
  const std::vector<Case> cases = {
      {0.5,
       {-4.166536436918057, 0.07417006642390714, 0.47728459965165987, -0.4828418286912646},
       {1.9324956615489852, 0.03982517677045996, 0.5008292695780165, 0.3567172245955998}},
      {0.05,
       {-3.564350874083046, 0.06736490350136494, 0.08093448610412328, -0.14490965861317257},
       {1.8088933115220152, 0.03805535667913198, 0.2124781168723272, 0.193533263466852}},
  };
  for (const Case& c : cases) {
    LogisticOptions options;
    options.l2_penalty = 1.0 / c.c;
    absl::StatusOr<LogisticFit> fit = FitLogistic(LogisticDesign(), ToEigen(kY), options);
    ASSERT_TRUE(fit.ok()) << fit.status();
    // lbfgs stops short of full precision; 1e-5 is far below the penalty's effect.
    ExpectNear(fit->coefficients, c.coef, 1e-5);
    ExpectNear(fit->standard_errors, c.se, 1e-5);
  }
}

TEST(LogisticRegressionTest, PenaltyShrinksSlopesButNotIntercept) {
  LogisticOptions options;
  options.l2_penalty = 1e9;
  absl::StatusOr<LogisticFit> fit = FitLogistic(LogisticDesign(), ToEigen(kY), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->coefficients.tail(3).norm(), 0.0, 1e-6);
  // With the slopes ~0 the intercept is the logit of the event rate 16/40.
  EXPECT_NEAR(fit->coefficients[0], std::log(16.0 / 24.0), 1e-5);
}

TEST(LogisticRegressionTest, CompleteSeparationIsReported) {
  Eigen::MatrixXd x(6, 1);
  x << 1, 2, 3, 4, 5, 6;
  Eigen::VectorXd y(6);
  y << 0, 0, 0, 1, 1, 1;
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, y);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(fit.status().message().find("separation"), absl::string_view::npos) << fit.status();
}

TEST(LogisticRegressionTest, QuasiCompleteSeparationIsReported) {
  // Every x = 1 has y = 1; the x = 0 rows are mixed (glm warns "fitted probabilities
  // numerically 0 or 1" and reports a huge coefficient).
  Eigen::MatrixXd x(8, 1);
  x << 0, 0, 0, 0, 1, 1, 1, 1;
  Eigen::VectorXd y(8);
  y << 0, 1, 0, 1, 1, 1, 1, 1;
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, y);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(fit.status().message().find("separation"), absl::string_view::npos) << fit.status();
}

TEST(LogisticRegressionTest, SeparationIsFineWithPenalty) {
  Eigen::MatrixXd x(6, 1);
  x << 1, 2, 3, 4, 5, 6;
  Eigen::VectorXd y(6);
  y << 0, 0, 0, 1, 1, 1;
  LogisticOptions options;
  options.l2_penalty = 1.0;
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, y, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_GT(fit->coefficients[1], 0.0);
}

TEST(LogisticRegressionTest, CollinearColumnsAreRankDeficient) {
  Eigen::MatrixXd x(40, 2);
  const Eigen::MatrixXd design = LogisticDesign();
  x.col(0) = design.col(0);
  x.col(1) = 2.0 * design.col(0);
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, ToEigen(kY));
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(fit.status().message().find("rank deficient"), absl::string_view::npos);
}

TEST(LogisticRegressionTest, ConstantColumnIsRankDeficient) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Constant(40, 1, 7.0);
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, ToEigen(kY));
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("rank deficient"), absl::string_view::npos);
}

TEST(LogisticRegressionTest, RejectsBadInput) {
  const Eigen::MatrixXd x = LogisticDesign();
  const Eigen::VectorXd y = ToEigen(kY);
  EXPECT_EQ(FitLogistic(Eigen::MatrixXd(0, 3), Eigen::VectorXd(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLogistic(x.topRows(39), y).status().code(), absl::StatusCode::kInvalidArgument);
  Eigen::MatrixXd with_nan = x;
  with_nan(3, 1) = std::numeric_limits<double>::quiet_NaN();
  absl::Status nan_status = FitLogistic(with_nan, y).status();
  EXPECT_EQ(nan_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan_status.message().find("NaN"), absl::string_view::npos) << nan_status;
  Eigen::VectorXd not_binary = y;
  not_binary[0] = 2.0;
  EXPECT_EQ(FitLogistic(x, not_binary).status().code(), absl::StatusCode::kInvalidArgument);
  Eigen::VectorXd negative_weights = Eigen::VectorXd::Ones(40);
  negative_weights[5] = -1.0;
  EXPECT_EQ(FitLogistic(x, y, negative_weights).status().code(),
            absl::StatusCode::kInvalidArgument);
  LogisticOptions bad_penalty;
  bad_penalty.l2_penalty = -1.0;
  EXPECT_EQ(FitLogistic(x, y, bad_penalty).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LogisticRegressionTest, IterationLimitIsReported) {
  LogisticOptions options;
  options.max_iterations = 1;
  absl::StatusOr<LogisticFit> fit = FitLogistic(LogisticDesign(), ToEigen(kY), options);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace scancov::stats
