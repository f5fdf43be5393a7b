// Each published model against values computed by hand from the coefficients in
// published_models.h (Python's math module, 12 significant digits; the arithmetic of each term
// is in the comments: T(x) then coefficient x T(x)).
#include "models/scores/published_models.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace scancov::scores {
namespace {

constexpr double kTol = 1e-9;

void ExpectScore(const LinearModelSpec& model, const PatientInputs& inputs, double lp, double p) {
  const absl::StatusOr<LinearScore> score = EvaluateLinearModel(model, inputs);
  ASSERT_TRUE(score.ok()) << score.status();
  EXPECT_NEAR(score->linear_predictor, lp, kTol) << model.name;
  EXPECT_NEAR(score->probability, p, kTol) << model.name;
}

// ScanCov released model, a 70-year-old man, SpO2 90 %, extent 3, platelets 200, urea 8:
//   SpO2      -log(1 + 100 - 90) = -2.397895273   x -0.715867705 =  1.716575786
//   extent    3                                   x  0.634474174 =  1.903422521
//   age       70                                  x  0.023845727 =  1.669200886
//   sex       1                                   x  0.548182696 =  0.548182696
//   platelets log(0.001 + 200) = 5.298322367      x -0.833731455 = -4.417378014
//   urea      log(0.001 + 8) = 2.079566534        x  0.560686021 =  1.165983886
//   lp = -2.313892395 + sum = 0.272095365;  p = sigmoid(lp) = 0.567607241
TEST(PublishedModelsTest, ScanCovReleasedByHand) {
  ExpectScore(ScanCovReleasedModel(),
              {{"spo2", 90},
               {"disease_extent", 3},
               {"age", 70},
               {"sex", 1},
               {"platelets", 200},
               {"urea", 8}},
              0.272095364750, 0.567607241461);
  // A 45-year-old woman, SpO2 97, extent 1, platelets 250, urea 4:
  //   0.992403363 + 0.634474174 + 1.073057712 + 0 - 4.603418978 + 0.777416024 - 2.313892395
  //   = -3.439960101; p = 0.031069685
  ExpectScore(ScanCovReleasedModel(),
              {{"spo2", 97},
               {"disease_extent", 1},
               {"age", 45},
               {"sex", 0},
               {"platelets", 250},
               {"urea", 4}},
              -3.439960100699, 0.031069685280);
}

// Supp Table 6 coefficients, same first patient, no intercept:
//   -0.745 x -2.397895273 = 1.786431978; 0.611 x 3 = 1.833; 0.025 x 70 = 1.75; 0.545 x 1;
//   -0.838 x 5.298322367 = -4.439994143; 0.608 x 2.079566534 = 1.264376453; sum = 2.738814288
TEST(PublishedModelsTest, ScanCovPaperTermsWithoutIntercept) {
  const PatientInputs patient{{"spo2", 90}, {"disease_extent", 3}, {"age", 70},
                              {"sex", 1},   {"platelets", 200},    {"urea", 8}};
  const absl::StatusOr<double> sum = TermsSum(ScanCovPaperModel(), patient);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_NEAR(*sum, 2.738814287670, kTol);
  // No published intercept: no probability pretending to be one.
  const absl::StatusOr<LinearScore> score = EvaluateLinearModel(ScanCovPaperModel(), patient);
  EXPECT_TRUE(absl::IsFailedPrecondition(score.status()));
  EXPECT_TRUE(absl::StrContains(std::string(score.status().message()), "no intercept"));
  ExpectScore(WithIntercept(ScanCovPaperModel(), -3.0), patient, 2.738814287670 - 3.0,
              1.0 / (1.0 + std::exp(-(2.738814287670 - 3.0))));
}

// Clinical and bio: a 66-year-old man, SpO2 92, LDH 400, platelets 180, no CKD, dyspnea,
// hypertension, neutrophils 6, urea 7:
//   SpO2 -log(9) = -2.197224577 x -0.773498738 = 1.699550438; age 66 x 0.018011363 = 1.188749964
//   sex 0.514251968; LDH log(400.001) = 5.991467047 x 1.194005368 = 7.153843815
//   platelets log(180.001) = 5.192962406 x -1.158777591 = -6.017488470; CKD 0;
//   dyspnea 0.319549011; hypertension 0.195830334;
//   neutrophils log(6.001) = 1.791926122 x 0.504115122 = 0.903337056
//   urea log(7.001) = 1.946052996 x 0.392702545 = 0.764219964
//   lp = -6.633691346 + sum = 0.088152734; p = 0.522023923
TEST(PublishedModelsTest, ClinicalBioByHand) {
  ExpectScore(ClinicalBioModel(),
              {{"spo2", 92},
               {"age", 66},
               {"sex", 1},
               {"ldh", 400},
               {"platelets", 180},
               {"chronic_kidney_disease", 0},
               {"dyspnea", 1},
               {"hypertension", 1},
               {"neutrophils", 6},
               {"urea", 7}},
              0.088152733852, 0.522023923160);
}

// Radiologist report: rounded GGO (code 2 -> present), crazy paving, no consolidation,
// peripheral, no inferior predominance, extent 3:
//   -0.67385675 + 0.40283637 - 0 - 0.13998417 - 0 + 0.6869313 x 3 (= 2.0607939)
//   lp = -1.72478553 + 1.64978935 = -0.07499618; p = 0.481259738
TEST(PublishedModelsTest, RadiologistReportByHand) {
  ExpectScore(RadiologistReportModel(),
              {{"ggo", 2},
               {"crazy_paving", 1},
               {"consolidation", 0},
               {"peripheral_topography", 1},
               {"inferior_predominance", 0},
               {"disease_extent", 3}},
              -0.074996180000, 0.481259737780);
}

// AI-segment (CT only), fractions of lung volume GGO 0.10, consolidation 0.05, crazy paving
// 0.03, extent 0.18:
//   -1.728627094 x 0.10 = -0.172862709; 3.282875289 x 0.05 = 0.164143764;
//   2.932593087 x 0.03 = 0.087977793; 4.485950269 x 0.18 = 0.807471048
//   lp = -1.861267060 + 0.886729896 = -0.974537164; p = 0.273977073
TEST(PublishedModelsTest, AiSegmentByHand) {
  ExpectScore(AiSegmentModel(),
              {{"ai_ggo_fraction", 0.10},
               {"ai_consolidation_fraction", 0.05},
               {"ai_crazy_paving_fraction", 0.03},
               {"ai_extent_fraction", 0.18}},
              -0.974537164111, 0.273977073478);
}

// Trimodal models, a 58-year-old woman, SpO2 93, platelets 300, urea 5:
//   SpO2 -log(8) = -2.079441542; platelets log(300.001) = 5.703785808; urea log(5.001) =
//   1.609637892.
// AI-segment trimodal, extent fraction 0.25:
//   1.415607352 + 3.540602307 x 0.25 (0.885150577) + 0.020863280 x 58 (1.210070268) + 0
//   - 5.235116831 + 0.882622052; lp = -1.038359156 + sum = -1.880025738; p = 0.132385917
// AI-severity trimodal, CT probability 0.4 (logit = log(0.4 / 0.6) = -0.405465108):
//   1.183563837 - 0.311658191 + 0.700853580 + 0 - 3.232487834 + 0.632900269;
//   lp = -0.053118072 + sum = -1.079946412; p = 0.253516158
TEST(PublishedModelsTest, TrimodalModelsByHand) {
  PatientInputs patient{{"spo2", 93}, {"age", 58}, {"sex", 0}, {"platelets", 300}, {"urea", 5}};
  patient.Set("ai_extent_fraction", 0.25).Set("ai_severity_probability", 0.4);
  ExpectScore(AiSegmentTrimodalModel(), patient, -1.880025737723, 0.132385917282);
  ExpectScore(AiSeverityTrimodalModel(), patient, -1.079946411587, 0.253516157906);
}

TEST(PublishedModelsTest, MissingAndImplausibleInputsAreRefused) {
  const PatientInputs no_urea{
      {"spo2", 90}, {"disease_extent", 3}, {"age", 70}, {"sex", 1}, {"platelets", 200}};
  absl::StatusOr<LinearScore> score = EvaluateLinearModel(ScanCovReleasedModel(), no_urea);
  ASSERT_TRUE(absl::IsFailedPrecondition(score.status()));
  EXPECT_EQ(std::string(score.status().message()),
            "scancov_released: not computable, missing: urea (mmol/L)");

  const PatientInputs per_microlitre{{"spo2", 90}, {"disease_extent", 3}, {"age", 70},
                                     {"sex", 1},   {"platelets", 200000}, {"urea", 8}};
  score = EvaluateLinearModel(ScanCovReleasedModel(), per_microlitre);
  ASSERT_TRUE(absl::IsInvalidArgument(score.status()));
  EXPECT_TRUE(absl::StrContains(std::string(score.status().message()), "per uL"));

  const PatientInputs certain_ct{{"spo2", 93},       {"age", 58}, {"sex", 0},
                                 {"platelets", 300}, {"urea", 5}, {"ai_severity_probability", 1}};
  EXPECT_TRUE(
      absl::IsInvalidArgument(EvaluateLinearModel(AiSeverityTrimodalModel(), certain_ct).status()));
}

TEST(PublishedModelsTest, CatalogueIsComplete) {
  EXPECT_EQ(PublishedModels().size(), 7u);
  for (const LinearModelSpec* model : PublishedModels()) {
    absl::StatusOr<const LinearModelSpec*> found = FindPublishedModel(model->name);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, model);
    for (const LinearTerm& term : model->terms) {
      EXPECT_NE(FindInputSpec(term.input), nullptr) << model->name << " " << term.input;
    }
  }
  EXPECT_TRUE(absl::IsNotFound(FindPublishedModel("mit_analytics").status()));
}

}  // namespace
}  // namespace scancov::scores
