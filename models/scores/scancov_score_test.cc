#include "models/scores/scancov_score.h"

#include <cmath>
#include <vector>

#include "core/env.h"
#include "gtest/gtest.h"
#include "models/scores/published_models.h"
#include "models/scores/risk_classes.h"

namespace scancov::scores {
namespace {

PatientInputs Patient(double spo2, double extent, double age, double sex, double platelets,
                      double urea) {
  return {{"spo2", spo2}, {"disease_extent", extent}, {"age", age},
          {"sex", sex},   {"platelets", platelets},   {"urea", urea}};
}

// The 1-5 scale's cut points for the published terciles:
//   logit(0.144) = log(0.144 / 0.856) = -1.782457077, logit(0.369) = -0.536509219,
//   w = 1.245947858; c1 = sigmoid(-1.782457077 - w) = 0.046159004,
//   c4 = sigmoid(-0.536509219 + w) = 0.670277108.
TEST(RiskClassesTest, FiveLevelCutPointsFromPublishedTerciles) {
  const FiveLevelScale scale = FiveLevelScaleFromTerciles(RiskThresholds{});
  EXPECT_NEAR(scale.cuts[0], 0.046159004318, 1e-10);
  EXPECT_DOUBLE_EQ(scale.cuts[1], 0.144);
  EXPECT_DOUBLE_EQ(scale.cuts[2], 0.369);
  EXPECT_NEAR(scale.cuts[3], 0.670277107810, 1e-10);
  // Equal width on the log-odds scale.
  EXPECT_NEAR(Logit(scale.cuts[1]) - Logit(scale.cuts[0]),
              Logit(scale.cuts[3]) - Logit(scale.cuts[2]), 1e-12);
  EXPECT_EQ(FiveLevel(0.01, scale), 1);
  EXPECT_EQ(FiveLevel(0.1, scale), 2);
  EXPECT_EQ(FiveLevel(0.144, scale), 3);  // boundaries belong to the upper level
  EXPECT_EQ(FiveLevel(0.3, scale), 3);
  EXPECT_EQ(FiveLevel(0.369, scale), 4);
  EXPECT_EQ(FiveLevel(0.9, scale), 5);
  EXPECT_STREQ(FiveLevelName(5), "very high");
}

TEST(RiskClassesTest, TercilesOfAKnownSample) {
  // 1..300 / 301: R's quantile(type = 7) at 1/3 is at position 1 + 299/3 = 100.667, i.e.
  // (100 + 0.667) / 301; at 2/3: position 200.333 -> 200.333 / 301.
  std::vector<double> p;
  for (int i = 1; i <= 300; ++i) p.push_back(i / 301.0);
  const absl::StatusOr<RiskThresholds> t = TercileThresholds(p);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_NEAR(t->low_medium, (100.0 + 2.0 / 3.0) / 301.0, 1e-12);
  EXPECT_NEAR(t->medium_high, (200.0 + 1.0 / 3.0) / 301.0, 1e-12);
  int high = 0;
  for (double x : p) high += ClassifyRisk(x, *t) == RiskClass::kHigh;
  EXPECT_EQ(high, 100);  // the top tercile
}

TEST(RiskClassesTest, TercilesOfSimulatedScoresRecoverTheDistributionsTerciles) {
  // Probabilities sigmoid(N(0, 1)): the true terciles are sigmoid(-+0.430727) = 0.393954,
  // 0.606046 (qnorm(2/3) = 0.4307273).
  Random random(11);
  std::vector<double> p;
  for (int i = 0; i < 20000; ++i) p.push_back(Sigmoid(random.Normal()));
  const absl::StatusOr<RiskThresholds> t = TercileThresholds(p);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(t->low_medium, 0.393954, 0.006);
  EXPECT_NEAR(t->medium_high, 0.606046, 0.006);
}

TEST(RiskClassesTest, BadTrainingScoresAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(TercileThresholds({0.2, 0.3}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TercileThresholds({0.2, 0.3, 1.5}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TercileThresholds({0.2, 0.2, 0.2, 0.2}).status()));
}

// Probabilities from published_models_test.cc's hand computation, plus
// D: SpO2 95, extent 2, 60-year-old man, platelets 220, urea 6:
//   -log(6) = -1.791759469 x -0.715867705 = 1.282662739; 0.634474174 x 2 = 1.268948347;
//   0.023845727 x 60 = 1.430743617; 0.548182696;
//   log(220.001) = 5.393632092 x -0.833731455 = -4.496840730;
//   log(6.001) = 1.791926122 x 0.560686021 = 1.004707928;
//   lp = -2.313892395 + 1.038404597 = -1.275487799; p = 0.218319279 (medium, level 3).
// C: SpO2 82, extent 5, 80-year-old man, platelets 120, urea 20: lp = 3.110351938,
//   p = 0.957317738 (high, level 5).
TEST(ScanCovScoreTest, ClassesAndLevelsByHand) {
  const ScanCovScore score;
  struct Case {
    PatientInputs inputs;
    double probability;
    RiskClass risk_class;
    int level;
  };
  const std::vector<Case> cases = {
      {Patient(90, 3, 70, 1, 200, 8), 0.567607241461, RiskClass::kHigh, 4},
      {Patient(97, 1, 45, 0, 250, 4), 0.031069685280, RiskClass::kLow, 1},
      {Patient(95, 2, 60, 1, 220, 6), 0.218319278876, RiskClass::kMedium, 3},
      {Patient(82, 5, 80, 1, 120, 20), 0.957317738470, RiskClass::kHigh, 5}};
  for (const Case& c : cases) {
    const absl::StatusOr<ScanCovResult> r = score.Compute(c.inputs);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_NEAR(r->probability, c.probability, 1e-9);
    EXPECT_EQ(r->risk_class, c.risk_class);
    EXPECT_EQ(r->level, c.level);
  }
}

TEST(ScanCovScoreTest, NoScoreFromMissingOrImplausibleInputs) {
  const ScanCovScore score;
  PatientInputs inputs = Patient(150, 3, 70, 1, 200, 8);
  EXPECT_TRUE(absl::IsInvalidArgument(score.Compute(inputs).status()));
  inputs.Set("spo2", 90).Set("platelets", 250000);
  EXPECT_TRUE(absl::IsInvalidArgument(score.Compute(inputs).status()));
  inputs.Set("platelets", 250).Erase("disease_extent");
  const absl::Status missing = score.Compute(inputs).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(missing));
  EXPECT_NE(std::string(missing.message()).find("disease_extent"), std::string::npos);
}

TEST(ScanCovScoreTest, PaperCoefficientsNeedAnInterceptAndIncreasingThresholds) {
  const absl::StatusOr<ScanCovScore> calibrated = ScanCovScore::FromPaperCoefficients(-4.0);
  ASSERT_TRUE(calibrated.ok());
  const absl::StatusOr<ScanCovResult> r = calibrated->Compute(Patient(90, 3, 70, 1, 200, 8));
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->linear_predictor, 2.738814287670 - 4.0, 1e-9);
  EXPECT_TRUE(absl::IsInvalidArgument(
      ScanCovScore::Create(ScanCovPaperModel(), RiskThresholds{}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ScanCovScore::Create(ScanCovReleasedModel(), RiskThresholds{0.4, 0.3}).status()));
}

}  // namespace
}  // namespace scancov::scores
