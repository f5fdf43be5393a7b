// CURB-65, CALL, COVID-GRAM and the Yan et al. rule on hand-computed patients, and their
// documented handling of missing inputs.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/scores/call_score.h"
#include "models/scores/covid_gram.h"
#include "models/scores/curb65.h"
#include "models/scores/yan_rule.h"

namespace scancov::scores {
namespace {

using ::testing::ElementsAre;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(Curb65Test, CompletePatientsByHand) {
  // Confused (1), urea 7.5 > 7 (1), RR 30 >= 30 (1), BP 120/60: diastolic <= 60 (1), age 64 (0).
  absl::StatusOr<PointsScore> s = Curb65({{"confusion", 1},
                                          {"urea", 7.5},
                                          {"respiratory_rate", 30},
                                          {"systolic_bp", 120},
                                          {"diastolic_bp", 60},
                                          {"age", 64}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->points, 4);
  EXPECT_EQ(s->max_points, 4);
  EXPECT_FALSE(s->partial());
  EXPECT_EQ(Curb65GroupOf(s->points), Curb65Group::kHigh);
  // Not confused, urea 7 (not > 7), RR 29, BP 90/61 (neither), age 65 (1): 1 point.
  s = Curb65({{"confusion", 0},
              {"urea", 7},
              {"respiratory_rate", 29},
              {"systolic_bp", 90},
              {"diastolic_bp", 61},
              {"age", 65}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 1);
  EXPECT_EQ(Curb65GroupOf(s->points), Curb65Group::kLow);
  // Systolic 89 < 90 alone meets B.
  s = Curb65({{"confusion", 0},
              {"urea", 3},
              {"respiratory_rate", 16},
              {"systolic_bp", 89},
              {"diastolic_bp", 70},
              {"age", 40}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 1);
}

TEST(Curb65Test, MissingConfusionCountsAsAbsentAndIsFlagged) {
  const PatientInputs inputs{{"urea", 9},
                             {"respiratory_rate", 32},
                             {"systolic_bp", 85},
                             {"diastolic_bp", 50},
                             {"age", 70}};
  const absl::StatusOr<PointsScore> s = Curb65(inputs);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 4);
  EXPECT_EQ(s->max_points, 5);
  EXPECT_TRUE(s->partial());
  EXPECT_THAT(s->missing, ElementsAre("confusion"));
  const absl::Status refused = Curb65(inputs, MissingInputPolicy::kRefuse).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused));
  EXPECT_EQ(Message(refused), "curb65: not computable, missing: confusion");
}

TEST(Curb65Test, OneLowPressureDecidesBEvenIfTheOtherIsMissing) {
  const absl::StatusOr<PointsScore> s = Curb65(
      {{"confusion", 0}, {"urea", 5}, {"respiratory_rate", 20}, {"diastolic_bp", 55}, {"age", 30}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 1);
  EXPECT_FALSE(s->partial());
  const absl::StatusOr<PointsScore> unknown = Curb65(
      {{"confusion", 0}, {"urea", 5}, {"respiratory_rate", 20}, {"diastolic_bp", 75}, {"age", 30}});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->points, 0);
  EXPECT_EQ(unknown->max_points, 1);
  EXPECT_THAT(unknown->missing, ElementsAre("systolic_bp"));
}

TEST(Curb65Test, ImplausibleInputsAreErrorsWhateverThePolicy) {
  EXPECT_TRUE(absl::IsInvalidArgument(Curb65({{"urea", 250}, {"age", 70}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Curb65({{"confusion", 2}}).status()));
}

TEST(CallScoreTest, CompletePatientsByHand) {
  // Hypertension (comorbidity: 4), age 61 > 60 (3), lymphocytes 1.0 <= 1 (3), LDH 501 > 500 (3)
  // = 13, class C.
  absl::StatusOr<PointsScore> s =
      CallScore({{"hypertension", 1}, {"age", 61}, {"lymphocytes", 1.0}, {"ldh", 501}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->points, 13);
  EXPECT_FALSE(s->partial());
  EXPECT_EQ(CallClassOf(s->points), CallClass::kC);
  // No comorbidity, all five flags 0 (1), age 60 (1), lymphocytes 1.5 (1), LDH 250 (1) = 4, A.
  s = CallScore({{"heart_disease", 0},
                 {"asthma", 0},
                 {"emphysema", 0},
                 {"diabetes", 0},
                 {"hypertension", 0},
                 {"age", 60},
                 {"lymphocytes", 1.5},
                 {"ldh", 250}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 4);
  EXPECT_EQ(CallClassOf(s->points), CallClass::kA);
  // Explicit comorbidity 0 (1), age 75 (3), lymphocytes 0.8 (3), LDH 300 (2) = 9, class B.
  s = CallScore({{"comorbidity", 0}, {"age", 75}, {"lymphocytes", 0.8}, {"ldh", 300}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 9);
  EXPECT_EQ(CallClassOf(s->points), CallClass::kB);
}

TEST(CallScoreTest, MissingItemsGiveABoundedPartialScore) {
  // Comorbidity undetermined (flags missing), LDH missing: 1 + 3 + 3 + 1 = 8 at least,
  // 4 + 3 + 3 + 3 = 13 at most.
  const PatientInputs inputs{{"diabetes", 0}, {"age", 70}, {"lymphocytes", 0.5}};
  const absl::StatusOr<PointsScore> s = CallScore(inputs);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->points, 8);
  EXPECT_EQ(s->max_points, 13);
  EXPECT_THAT(s->missing, ElementsAre("comorbidity", "heart_disease", "asthma", "emphysema",
                                      "hypertension", "ldh"));
  EXPECT_TRUE(absl::IsFailedPrecondition(CallScore(inputs, MissingInputPolicy::kRefuse).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CallScore({{"lymphocytes", 900}}).status()));
}

// COVID-GRAM, a 70-year-old with extent 2 on CT (abnormality 1), dyspnea, hypertension and
// diabetes (2 comorbidities; emphysema, heart disease, CKD, cancer, immunodeficiency 0), no
// cancer, neutrophils 6 and lymphocytes 0.8 G/L (NLR = 6 / 0.81 = 7.407407407), LDH 400 U/L,
// conjugated bilirubin 5 umol/L; hemoptysis and unconsciousness not recorded:
//   log(0.001) = -6.907755279; log(3.39) = 1.220829921; log(1.03) x 70 = 2.069116157;
//   log(1.88) = 0.631271777; log(1.60) x 2 = 0.940007258; log(1.06) x 7.407407407 =
//   0.431621542; log(1.002) x 400 = 0.799201065; log(1.15) x 5 = 0.698809712;
//   lp = -0.116897847; p = 0.470808773.
TEST(CovidGramTest, ByHandWithTheSeedsAssumptions) {
  PatientInputs inputs{{"disease_extent", 2}, {"age", 70},
                       {"dyspnea", 1},        {"hypertension", 1},
                       {"diabetes", 1},       {"emphysema", 0},
                       {"heart_disease", 0},  {"chronic_kidney_disease", 0},
                       {"cancer", 0},         {"immunodeficiency", 0},
                       {"neutrophils", 6},    {"lymphocytes", 0.8},
                       {"ldh", 400},          {"conjugated_bilirubin", 5}};
  absl::StatusOr<CovidGramResult> r = CovidGram(inputs);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->linear_predictor, -0.116897846744, 1e-9);
  EXPECT_NEAR(r->probability, 0.470808772515, 1e-9);
  EXPECT_THAT(r->assumed_absent, ElementsAre("hemoptysis", "unconsciousness"));
  EXPECT_EQ(CovidGramGroupOf(r->probability), CovidGramGroup::kHigh);
  EXPECT_TRUE(absl::IsFailedPrecondition(CovidGram(inputs, /*strict=*/true).status()));

  // Recorded as absent, explicit count: same value, no longer partial.
  inputs.Set("hemoptysis", 0).Set("unconsciousness", 0).Set("comorbidity_count", 2);
  r = CovidGram(inputs);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->probability, 0.470808772515, 1e-9);
  EXPECT_FALSE(r->partial());
  // Hemoptysis adds log(4.53) = 1.510721647.
  inputs.Set("hemoptysis", 1);
  r = CovidGram(inputs);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->linear_predictor, -0.116897846744 + std::log(4.53), 1e-9);
}

TEST(CovidGramTest, MissingLaboratoryValuesMakeItNotComputable) {
  const PatientInputs inputs{
      {"disease_extent", 0}, {"age", 50}, {"dyspnea", 0}, {"cancer", 0}, {"neutrophils", 4}};
  const absl::Status s = CovidGram(inputs).status();
  ASSERT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_EQ(Message(s),
            "covid-gram: not computable, missing: lymphocytes (G/L), ldh (U/L), "
            "conjugated_bilirubin (umol/L)");
  const absl::Status no_ct = CovidGram({{"age", 50}}).status();
  EXPECT_TRUE(absl::StrContains(Message(no_ct), "imaging_abnormality"));
  EXPECT_TRUE(absl::IsInvalidArgument(CovidGram({{"age", 50}, {"ldh", 3}}).status()));
}

TEST(YanRuleTest, TheTreeByHand) {
  struct Case {
    double ldh, crp, lymph;
    YanPrediction expected;
  };
  for (const Case& c : {
           Case{365, 10, 30, YanPrediction::kDeath},         // LDH >= 365
           Case{364, 41.1, 5, YanPrediction::kSurvival},     // CRP < 41.2
           Case{364, 41.2, 14.8, YanPrediction::kSurvival},  // lymphocytes > 14.7 %
           Case{364, 41.2, 14.7, YanPrediction::kDeath},     // else
       }) {
    const absl::StatusOr<YanResult> r =
        YanRule({{"ldh", c.ldh}, {"crp", c.crp}, {"lymphocyte_percent", c.lymph}});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->prediction, c.expected) << c.ldh << " " << c.crp << " " << c.lymph;
    EXPECT_TRUE(r->not_needed_missing.empty());
  }
}

TEST(YanRuleTest, MissingInputsOnlyMatterWhenTheyDecide) {
  // High LDH decides alone.
  absl::StatusOr<YanResult> r = YanRule({{"ldh", 500}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->prediction, YanPrediction::kDeath);
  EXPECT_THAT(r->not_needed_missing, ElementsAre("crp", "lymphocyte_percent"));
  // LDH missing, CRP high and lymphocytes low: death on both branches.
  r = YanRule({{"crp", 80}, {"lymphocyte_percent", 5}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->prediction, YanPrediction::kDeath);
  EXPECT_THAT(r->not_needed_missing, ElementsAre("ldh"));
  // LDH missing with a low CRP: the branches disagree.
  const absl::Status s = YanRule({{"crp", 10}}).status();
  ASSERT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_EQ(Message(s), "yan rule: not computable, missing: ldh (U/L), lymphocyte_percent (%)");
  EXPECT_TRUE(
      absl::IsInvalidArgument(YanRule({{"ldh", 300}, {"lymphocyte_percent", 140}}).status()));
}

// Each score's declared inputs are all it reads: on random patients (every known input present
// with a plausible value or missing), the score from the declared inputs alone is the score from
// everything. A name missing from a list changes some patient's score.
PatientInputs RandomPatient(std::mt19937& rng) {
  PatientInputs p;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const InputSpec& spec : InputSpecs()) {
    if (u(rng) < 0.25) continue;  // missing
    double v = spec.min + (spec.max - spec.min) * (0.001 + 0.998 * u(rng));
    if (spec.kind == InputKind::kBinary) v = u(rng) < 0.5 ? 0 : 1;
    if (spec.kind == InputKind::kInteger) v = std::min(spec.max, std::floor(v));
    p.Set(spec.name, v);
  }
  return p;
}

PatientInputs Only(const PatientInputs& all, const std::vector<std::string>& names) {
  PatientInputs out;
  for (const std::string& n : names) {
    if (std::optional<double> v = all.Get(n)) out.Set(n, *v);
  }
  return out;
}

template <typename Score, typename Same>
void ExpectReadsOnly(const std::vector<std::string>& inputs, Score score, Same same) {
  std::mt19937 rng(20240611);
  int computed = 0;
  for (int i = 0; i < 2000; ++i) {
    const PatientInputs all = RandomPatient(rng);
    const auto a = score(all);
    const auto b = score(Only(all, inputs));
    ASSERT_EQ(a.status().code(), b.status().code()) << i << ": " << a.status() << b.status();
    if (!a.ok()) continue;
    ++computed;
    ASSERT_TRUE(same(*a, *b)) << i;
  }
  EXPECT_GT(computed, 100);  // the comparison was made on computable scores
}

TEST(ScoreInputsTest, EachScoreReadsOnlyItsDeclaredInputs) {
  const auto same_points = [](const PointsScore& a, const PointsScore& b) {
    return a.points == b.points && a.max_points == b.max_points && a.missing == b.missing;
  };
  ExpectReadsOnly(
      Curb65Inputs(), [](const PatientInputs& p) { return Curb65(p); }, same_points);
  ExpectReadsOnly(
      CallScoreInputs(), [](const PatientInputs& p) { return CallScore(p); }, same_points);
  ExpectReadsOnly(
      CovidGramInputs(), [](const PatientInputs& p) { return CovidGram(p); },
      [](const CovidGramResult& a, const CovidGramResult& b) {
        return a.probability == b.probability && a.assumed_absent == b.assumed_absent;
      });
  ExpectReadsOnly(
      YanRuleInputs(), [](const PatientInputs& p) { return YanRule(p); },
      [](const YanResult& a, const YanResult& b) {
        return a.prediction == b.prediction && a.not_needed_missing == b.not_needed_missing;
      });
  // A list without one of the inputs is caught.
  std::vector<std::string> short_list = Curb65Inputs();
  short_list.pop_back();  // age
  std::mt19937 rng(7);
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const PatientInputs all = RandomPatient(rng);
    absl::StatusOr<PointsScore> a = Curb65(all), b = Curb65(Only(all, short_list));
    differ += a.ok() && b.ok() && !same_points(*a, *b);
  }
  EXPECT_GT(differ, 0);
}

}  // namespace
}  // namespace scancov::scores
