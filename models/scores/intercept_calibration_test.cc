#include "models/scores/intercept_calibration.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/env.h"
#include "gtest/gtest.h"
#include "models/scores/linear_model.h"
#include "models/scores/published_models.h"

namespace scancov::scores {
namespace {

// With a constant offset c the MLE is closed-form: sigmoid(b + c) = mean(y), so
// b = logit(mean y) - c. Here mean y = 3/10 and c = 0.5: b = log(3/7) - 0.5 = -1.347297870;
// information = 10 x 0.3 x 0.7 = 2.1, SE = 1 / sqrt(2.1) = 0.690065559.
TEST(InterceptCalibrationTest, ConstantOffsetByHand) {
  const std::vector<double> lp(10, 0.5);
  const std::vector<double> y = {1, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  const absl::StatusOr<InterceptCalibration> r = CalibrateIntercept(lp, y);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->intercept, std::log(3.0 / 7.0) - 0.5, 1e-10);
  EXPECT_NEAR(r->standard_error, 1.0 / std::sqrt(2.1), 1e-8);
  EXPECT_EQ(r->num_observations, 10);
  EXPECT_EQ(r->num_events, 3);
}

struct Simulated {
  std::vector<std::vector<double>> lp;  // per site
  std::vector<std::vector<double>> y;
};

// Three sites of different sizes and case mix; outcomes from sigmoid(b + lp), lp being the
// ScanCov paper's terms of plausible simulated patients.
Simulated Simulate(double true_intercept, uint64_t seed) {
  Random random(seed);
  Simulated s;
  const int sizes[] = {6000, 2500, 1500};
  for (int site = 0; site < 3; ++site) {
    s.lp.emplace_back();
    s.y.emplace_back();
    for (int i = 0; i < sizes[site]; ++i) {
      const PatientInputs patient{
          {"spo2", std::max(60.0, 100.0 - 4.0 * std::exp(0.5 * random.Normal()))},
          {"disease_extent", std::floor(random.Uniform() * 6.0)},
          {"age", std::clamp(50.0 + 5.0 * site + 15.0 * random.Normal(), 18.0, 100.0)},
          {"sex", random.Uniform() < 0.6 ? 1.0 : 0.0},
          {"platelets", 220.0 * std::exp(0.35 * random.Normal())},
          {"urea", 6.0 * std::exp(0.5 * random.Normal())}};
      const absl::StatusOr<double> lp = TermsSum(ScanCovPaperModel(), patient);
      EXPECT_TRUE(lp.ok()) << lp.status();
      s.lp.back().push_back(*lp);
      s.y.back().push_back(random.Uniform() < Sigmoid(true_intercept + *lp) ? 1.0 : 0.0);
    }
  }
  return s;
}

TEST(InterceptCalibrationTest, FederatedFitRecoversTheTrueInterceptAndEqualsPooled) {
  const double truth = -3.2;
  const Simulated s = Simulate(truth, 2024);
  int rounds = 0;
  const absl::StatusOr<InterceptCalibration> federated = CalibrateInterceptFederated(
      [&](double b) -> absl::StatusOr<std::vector<InterceptSiteSummary>> {
        ++rounds;
        std::vector<InterceptSiteSummary> out;
        for (size_t site = 0; site < s.lp.size(); ++site) {
          absl::StatusOr<InterceptSiteSummary> summary =
              SummarizeInterceptSite(s.lp[site], s.y[site], b);
          if (!summary.ok()) return summary.status();
          out.push_back(*summary);
        }
        return out;
      });
  ASSERT_TRUE(federated.ok()) << federated.status();
  EXPECT_LT(rounds, 20);
  EXPECT_EQ(federated->num_observations, 10000);
  // Within 4 standard errors of the truth (SE about 0.03 here).
  EXPECT_LT(federated->standard_error, 0.05);
  EXPECT_NEAR(federated->intercept, truth, 4.0 * federated->standard_error);

  std::vector<double> lp, y;
  for (size_t site = 0; site < s.lp.size(); ++site) {
    lp.insert(lp.end(), s.lp[site].begin(), s.lp[site].end());
    y.insert(y.end(), s.y[site].begin(), s.y[site].end());
  }
  const absl::StatusOr<InterceptCalibration> pooled = CalibrateIntercept(lp, y);
  ASSERT_TRUE(pooled.ok());
  EXPECT_NEAR(federated->intercept, pooled->intercept, 1e-9);
  EXPECT_NEAR(federated->log_likelihood, pooled->log_likelihood, 1e-6);
}

TEST(InterceptCalibrationTest, FarStartStillConverges) {
  const Simulated s = Simulate(-1.0, 7);
  InterceptCalibrationOptions options;
  options.initial_intercept = 25.0;
  const absl::StatusOr<InterceptCalibration> r = CalibrateIntercept(s.lp[0], s.y[0], options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->intercept, -1.0, 4.0 * r->standard_error);
}

TEST(InterceptCalibrationTest, RefusesWhatHasNoEstimateOrIsMalformed) {
  const std::vector<double> lp = {0.1, 0.2, 0.3};
  EXPECT_TRUE(
      absl::IsFailedPrecondition(CalibrateIntercept(lp, std::vector<double>{0, 0, 0}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CalibrateIntercept(lp, std::vector<double>{0, 1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      CalibrateIntercept(std::vector<double>{0.1, NAN}, std::vector<double>{0, 1}).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(CalibrateIntercept(lp, std::vector<double>{0, 2, 1}).status()));

  absl::StatusOr<InterceptCalibrator> calibrator = InterceptCalibrator::Create({});
  ASSERT_TRUE(calibrator.ok());
  absl::StatusOr<InterceptSiteSummary> stale =
      SummarizeInterceptSite(lp, std::vector<double>{0, 1, 1}, 1.0);
  ASSERT_TRUE(stale.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(calibrator->Update({*stale})));  // asked for 0, got 1
  EXPECT_TRUE(absl::IsInvalidArgument(calibrator->Update({})));
  EXPECT_TRUE(absl::IsFailedPrecondition(calibrator->Result().status()));
}

}  // namespace
}  // namespace scancov::scores
