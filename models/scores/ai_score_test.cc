#include "models/scores/ai_score.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/env.h"
#include "gtest/gtest.h"
#include "models/scores/ai_score_cut_points.h"
#include "models/stats/roc_counts.h"

namespace scancov::scores {
namespace {

// An illustrative model (the seed's coefficients are not published): intercept -8; age 0.06,
// sex 0.4, SpO2 -0.8 on -log(1 + 100 - x), well-aerated lung % -0.03, calcium 0.2 on log(1 + x).
LinearModelSpec TestModel() { return AiScoreModel(-8.0, {0.06, 0.4, -0.8, -0.03, 0.2}); }

PatientInputs Patient(double age, double sex, double spo2, double walv, double calcium) {
  return {{"age", age},
          {"sex", sex},
          {"spo2", spo2},
          {"well_aerated_lung_percent", walv},
          {"calcium_volume_mm3", calcium}};
}

// By hand (terms: age, sex, SpO2, WALV, calcium):
//  A 75 y man, SpO2 93, WALV 60 %, calcium 500 mm3:
//    4.5 + 0.4 + (-0.8 x -log(8) = 1.663553233) - 1.8 + (0.2 x log(501) = 1.243321220)
//    lp = -1.993125546 -> score 11.992658709 (low)
//  B 80 y man, SpO2 90, WALV 50 %, calcium 1000 mm3:
//    4.8 + 0.4 + 1.918316218 - 1.5 + 1.381750956; lp = -0.999932826 -> 26.895462881 (medium)
//  C 88 y man, SpO2 86, WALV 30 %, calcium 3000 mm3:
//    5.28 + 0.4 + 2.166440161 - 0.9 + 1.601340169; lp = 0.547780330 -> 63.362045744 (high)
//  D 50 y woman, SpO2 97, WALV 85 %, no calcium:
//    3 + 0 + 1.109035489 - 2.55 + 0; lp = -6.440964511 -> 0.159232812 (low)
TEST(AiScoreTest, ScoresAndClassesByHand) {
  const absl::StatusOr<AiScore> score = AiScore::Create(TestModel());
  ASSERT_TRUE(score.ok()) << score.status();
  struct Case {
    PatientInputs inputs;
    double score;
    AiScoreClass score_class;
  };
  for (const Case& c : {Case{Patient(75, 1, 93, 60, 500), 11.9926587089, AiScoreClass::kLow},
                        Case{Patient(80, 1, 90, 50, 1000), 26.8954628805, AiScoreClass::kMedium},
                        Case{Patient(88, 1, 86, 30, 3000), 63.3620457436, AiScoreClass::kHigh},
                        Case{Patient(50, 0, 97, 85, 0), 0.1592328118, AiScoreClass::kLow}}) {
    const absl::StatusOr<AiScoreResult> r = score->Compute(c.inputs);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_NEAR(r->score, c.score, 1e-8);
    EXPECT_NEAR(r->probability, c.score / 100.0, 1e-10);
    EXPECT_EQ(r->score_class, c.score_class);
  }
  EXPECT_EQ(ClassifyAiScore(23.0, {}), AiScoreClass::kMedium);  // [23, 45)
  EXPECT_EQ(ClassifyAiScore(45.0, {}), AiScoreClass::kHigh);    // [45, 100]
}

TEST(AiScoreTest, MissingOrImplausibleInputsGiveNoScore) {
  const absl::StatusOr<AiScore> score = AiScore::Create(TestModel());
  ASSERT_TRUE(score.ok());
  PatientInputs inputs = Patient(75, 1, 93, 60, 500);
  inputs.Erase("calcium_volume_mm3");
  const absl::Status missing = score->Compute(inputs).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(missing));
  EXPECT_NE(std::string(missing.message()).find("calcium_volume_mm3 (mm3)"), std::string::npos);
  inputs = Patient(75, 1, 150, 60, 500);
  EXPECT_TRUE(absl::IsInvalidArgument(score->Compute(inputs).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(AiScore::Create(TestModel(), {50, 40}).status()));
}

struct Cohort {
  std::vector<PatientInputs> patients;
  std::vector<double> death;
};

// Patients drawn around a hospitalised COVID-19 population, death from TestModel().
Cohort Simulate(int n, uint64_t seed) {
  Random random(seed);
  const LinearModelSpec truth = TestModel();
  Cohort c;
  for (int i = 0; i < n; ++i) {
    const double age = std::clamp(65.0 + 14.0 * random.Normal(), 20.0, 100.0);
    const double sex = random.Uniform() < 0.6 ? 1.0 : 0.0;
    const double spo2 = std::max(60.0, 100.0 - 3.5 * std::exp(0.45 * random.Normal()));
    const double walv = 20.0 + 75.0 * random.Uniform();
    const double calcium =
        random.Uniform() < 0.3 ? 0.0 : std::min(1e5, 200.0 * std::exp(1.5 * random.Normal()));
    PatientInputs p = Patient(age, sex, spo2, walv, calcium);
    const double probability = EvaluateLinearModel(truth, p)->probability;
    c.death.push_back(random.Uniform() < probability ? 1.0 : 0.0);
    c.patients.push_back(std::move(p));
  }
  return c;
}

TEST(AiScoreTest, FitRecoversTheGeneratingCoefficients) {
  Cohort c = Simulate(8000, 5);
  c.patients[3].Erase("spo2");  // left out, counted
  const absl::StatusOr<AiScoreFit> fit = FitAiScore(c.patients, c.death);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->patients_used, 7999);
  EXPECT_EQ(fit->patients_excluded, 1);
  const std::vector<double> truth = {-8.0, 0.06, 0.4, -0.8, -0.03, 0.2};
  for (size_t j = 0; j < truth.size(); ++j) {
    EXPECT_NEAR(fit->fit.coefficients[j], truth[j], 4.0 * fit->fit.standard_errors[j]) << j;
  }
  EXPECT_TRUE(AiScore::Create(fit->model).ok());
}

TEST(AiScoreTest, FitRefusesImplausibleInputsAndOneClass) {
  Cohort c = Simulate(200, 6);
  c.patients[7].Set("spo2", 150);
  const absl::Status implausible = FitAiScore(c.patients, c.death).status();
  EXPECT_TRUE(absl::IsInvalidArgument(implausible));
  EXPECT_NE(std::string(implausible.message()).find("patient 7"), std::string::npos);
  c.patients[7].Set("spo2", 95);
  const std::vector<double> none(c.death.size(), 0.0);
  EXPECT_TRUE(absl::IsFailedPrecondition(FitAiScore(c.patients, none).status()));
}

// A constructed training set with a known binning:
//   low region:    300 survivors (10 at each integer 0..29) and 10 deaths at 1..10;
//   medium region: 100 survivors (5 at each integer 30..49) and 20 deaths (1 at each);
//   high region:   70 deaths (2 at each integer 50..84) and 10 survivors (1 at each 50..59).
// 100 deaths, so at most 10 may be low: the 11th smallest death score, 30, is the low cut.
// Above it, splitting at 50 gives weighted Gini 120 x 2 (1/6)(5/6) + 80 x 2 (7/8)(1/8) =
// 33.33 + 17.5 = 50.83; e.g. 51 gives 36.13 + 15.90 = 52.03, 45 gives 25 + 47.73 = 72.73,
// 60 gives 58.67 + 0 = 58.67.
void KnownAnswer(double shift, std::vector<double>& scores, std::vector<double>& death) {
  auto add = [&](double s, double d, int count) {
    for (int i = 0; i < count; ++i) {
      scores.push_back(s + shift);
      death.push_back(d);
    }
  };
  for (int s = 0; s < 30; ++s) add(s, 0, 10);
  for (int s = 1; s <= 10; ++s) add(s, 1, 1);
  for (int s = 30; s < 50; ++s) add(s, 0, 5), add(s, 1, 1);
  for (int s = 50; s < 85; ++s) add(s, 1, 2);
  for (int s = 50; s < 60; ++s) add(s, 0, 1);
}

TEST(AiScoreCutPointsTest, KnownAnswer) {
  std::vector<double> scores, death;
  KnownAnswer(0.0, scores, death);
  const absl::StatusOr<AiScoreBinning> b = ChooseAiScoreCutPoints(scores, death);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->cut_points.low_medium, 30.0);
  EXPECT_EQ(b->cut_points.medium_high, 50.0);
  EXPECT_DOUBLE_EQ(b->low_death_fraction, 0.10);
  EXPECT_EQ(b->low.patients, 310);
  EXPECT_EQ(b->low.deaths, 10);
  EXPECT_EQ(b->medium.patients, 120);
  EXPECT_EQ(b->medium.deaths, 20);
  EXPECT_EQ(b->high.patients, 80);
  EXPECT_EQ(b->high.deaths, 70);

  // Half-point scores: exact cuts 30.5 / 50.5 without rounding, 30 / 50 with it (same classes).
  scores.clear();
  death.clear();
  KnownAnswer(0.5, scores, death);
  CutPointOptions exact;
  exact.round_to_integer = false;
  absl::StatusOr<AiScoreBinning> e = ChooseAiScoreCutPoints(scores, death, exact);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->cut_points.low_medium, 30.5);
  EXPECT_EQ(e->cut_points.medium_high, 50.5);
  e = ChooseAiScoreCutPoints(scores, death);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->cut_points.low_medium, 30.0);
  EXPECT_EQ(e->cut_points.medium_high, 50.0);
  EXPECT_EQ(e->high.patients, 80);
}

TEST(AiScoreCutPointsTest, SimulatedCohortKeepsAtMostTenPercentOfDeathsLow) {
  const Cohort c = Simulate(3000, 8);
  const absl::StatusOr<AiScore> model = AiScore::Create(TestModel());
  ASSERT_TRUE(model.ok());
  std::vector<double> scores;
  for (const PatientInputs& p : c.patients) scores.push_back(model->Compute(p)->score);
  const absl::StatusOr<AiScoreBinning> b = ChooseAiScoreCutPoints(scores, c.death);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_LE(b->low_death_fraction, 0.10);
  EXPECT_GT(b->low_death_fraction, 0.08);  // the low class is as large as the bound allows
  EXPECT_LT(b->cut_points.low_medium, b->cut_points.medium_high);
  EXPECT_LT(b->low.mortality(), b->medium.mortality());
  EXPECT_LT(b->medium.mortality(), b->high.mortality());
}

// The federated rule, fed with the counts of three "sites" at every 0.01 probability step,
// gives the pooled rule's cut points and class summaries; with a coarser release, cuts at
// released thresholds only, and still at most 10% of deaths low.
TEST(AiScoreCutPointsTest, FromCountsEqualsThePooledRule) {
  const Cohort c = Simulate(3000, 8);
  const absl::StatusOr<AiScore> model = AiScore::Create(TestModel());
  ASSERT_TRUE(model.ok());
  std::vector<double> probability;
  for (const PatientInputs& p : c.patients) probability.push_back(model->Compute(p)->score / 100);
  const std::vector<double> grid = stats::EvenGrid(0.0, 1.0, 100);
  std::vector<stats::GridRoc> sites;
  for (size_t from : {size_t{0}, size_t{1000}, size_t{1800}}) {
    const size_t to = from == 0 ? 1000 : from == 1000 ? 1800 : probability.size();
    const std::vector<double> p(probability.begin() + from, probability.begin() + to);
    const std::vector<double> y(c.death.begin() + from, c.death.begin() + to);
    absl::StatusOr<stats::GridRoc> roc = stats::RocAtGrid(p, y, grid);
    ASSERT_TRUE(roc.ok()) << roc.status();
    sites.push_back(*roc);
  }
  absl::StatusOr<stats::GridRoc> pooled = stats::SumGridRocs(sites);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  std::vector<double> scores;
  for (double p : probability) scores.push_back(100 * p);
  const absl::StatusOr<AiScoreBinning> expected = ChooseAiScoreCutPoints(scores, c.death);
  const absl::StatusOr<AiScoreBinning> got = ChooseAiScoreCutPointsFromCounts(*pooled);
  ASSERT_TRUE(expected.ok() && got.ok()) << expected.status() << got.status();
  EXPECT_EQ(got->cut_points.low_medium, expected->cut_points.low_medium);
  EXPECT_EQ(got->cut_points.medium_high, expected->cut_points.medium_high);
  for (auto [g, e] : {std::pair{&got->low, &expected->low},
                      {&got->medium, &expected->medium},
                      {&got->high, &expected->high}}) {
    EXPECT_EQ(g->patients, e->patients);
    EXPECT_EQ(g->deaths, e->deaths);
  }
  EXPECT_DOUBLE_EQ(got->low_death_fraction, expected->low_death_fraction);

  // Only every fifth threshold released: cuts are multiples of 5, the bound still holds.
  stats::GridRoc coarse = *pooled;
  coarse.points.clear();
  for (const stats::GridRocPoint& p : pooled->points) {
    const double score = std::round(100 * p.threshold);
    if (std::fmod(score, 5.0) == 0.0) coarse.points.push_back(p);
  }
  const absl::StatusOr<AiScoreBinning> c5 = ChooseAiScoreCutPointsFromCounts(coarse);
  ASSERT_TRUE(c5.ok()) << c5.status();
  EXPECT_EQ(std::fmod(c5->cut_points.low_medium, 5.0), 0.0);
  EXPECT_EQ(std::fmod(c5->cut_points.medium_high, 5.0), 0.0);
  EXPECT_LE(c5->cut_points.low_medium, expected->cut_points.low_medium);
  EXPECT_LE(c5->low_death_fraction, 0.10);
  EXPECT_EQ(c5->low.patients + c5->medium.patients + c5->high.patients, 3000);

  stats::GridRoc no_deaths = *pooled;
  no_deaths.negatives += no_deaths.positives;
  no_deaths.positives = 0;
  for (stats::GridRocPoint& p : no_deaths.points) {
    p.false_positives += p.true_positives;
    p.true_positives = 0;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseAiScoreCutPointsFromCounts(no_deaths).status()));
}

TEST(AiScoreCutPointsTest, BadInputsAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseAiScoreCutPoints({10, 120}, {0, 1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseAiScoreCutPoints({10, 20}, {0, 0}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ChooseAiScoreCutPoints({10, 20}, {0, 1, 1}).status()));
  // Too few patients above the low cut for two classes of 7.
  EXPECT_TRUE(absl::IsFailedPrecondition(ChooseAiScoreCutPoints({10, 20, 30}, {1, 0, 1}).status()));
}

}  // namespace
}  // namespace scancov::scores
