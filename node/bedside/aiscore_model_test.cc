// The AI-SCoRE model file: the coordinator's export format, hand-computed scores, and every
// refusal with its message.
#include "node/bedside/aiscore_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "node/bedside/bedside_test_util.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

// As `scancov-coord export-model --cut-points 23 45` writes it (the demo's federated fit).
constexpr char kExported[] = R"({
  "coefficients": [-4.12685538661505, 0.0705765075098999, 0.3665215376138691,
                   -0.7910031687946116, -0.057616636589576636, 0.07473523823763008],
  "cut_points": [23.0, 45.0],
  "events": 47,
  "features": ["age", "sex", {"name": "spo2", "transform": "neglog_101_minus"},
               "well_aerated_lung_percent", {"name": "calcium_volume_mm3", "transform": "log"}],
  "n": 292, "outcome": "death", "sites": ["kb", "igr", "hegp"],
  "source": "federated logistic regression, study demo-aiscore"})";

scores::PatientInputs Patient() {
  return {{"age", 70},
          {"sex", 1},
          {"spo2", 90},
          {"well_aerated_lung_percent", 60},
          {"calcium_volume_mm3", 200}};
}

TEST(AiScoreModel, ParsesTheCoordinatorExport) {
  absl::StatusOr<AiScoreModelFile> m = ParseAiScoreModel(kExported, "export");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->features.size(), 5u);
  EXPECT_EQ(m->features[2].name, "spo2");
  EXPECT_EQ(m->features[2].transform, "neglog_101_minus");
  EXPECT_EQ(m->features[4].transform, "log");
  EXPECT_EQ(m->features[0].transform, "none");
  EXPECT_EQ(m->coefficients.size(), 6u);
  EXPECT_EQ(m->cut_points.low_medium, 23.0);
  EXPECT_EQ(m->cut_points.medium_high, 45.0);
  EXPECT_FALSE(m->default_cut_points);
  EXPECT_EQ(m->n, 292);
  EXPECT_EQ(m->events, 47);
  EXPECT_EQ(m->source, "federated logistic regression, study demo-aiscore");
}

// eta = b0 + b1 70 + b2 1 + b3 (-log(101 - 90)) + b4 60 + b5 log(0.001 + 200), computed with
// Python's math module: eta = 0.015737624861141497, score = 50.3934325013501 (high).
TEST(AiScoreModel, ScoreMatchesHandComputedValue) {
  absl::StatusOr<AiScoreModelFile> m = ParseAiScoreModel(kExported, "export");
  ASSERT_TRUE(m.ok());
  absl::StatusOr<scores::AiScoreResult> r = EvaluateAiScoreModel(*m, Patient());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->score, 50.3934325013501, 1e-9);
  EXPECT_NEAR(r->probability, 0.503934325013501, 1e-11);
  EXPECT_EQ(r->score_class, scores::AiScoreClass::kHigh);
}

// Centre and scale as the study spec allows: eta = -1 + 0.8 (70 - 60) / 10
// - 0.5 (-log(11) + 2) / 0.5 + 0.2 log(0.001 + 0) = -1.1836557829980567 -> 23.439551351290604,
// just above the default low|medium cut point 23.
TEST(AiScoreModel, CentreScaleAndDefaultCutPoints) {
  absl::StatusOr<AiScoreModelFile> m = ParseAiScoreModel(R"({
      "features": [{"name": "age", "center": 60, "scale": 10},
                   {"name": "spo2", "transform": "neglog_101_minus", "center": -2, "scale": 0.5},
                   {"name": "calcium_volume_mm3", "transform": "log"}],
      "coefficients": [-1.0, 0.8, -0.5, 0.2]})",
                                                         "hand");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->default_cut_points);
  absl::StatusOr<scores::AiScoreResult> r =
      EvaluateAiScoreModel(*m, {{"age", 70}, {"spo2", 90}, {"calcium_volume_mm3", 0}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->score, 23.439551351290604, 1e-9);
  EXPECT_EQ(r->score_class, scores::AiScoreClass::kMedium);
}

TEST(AiScoreModel, MissingAndImplausibleInputs) {
  absl::StatusOr<AiScoreModelFile> m = ParseAiScoreModel(kExported, "export");
  ASSERT_TRUE(m.ok());
  scores::PatientInputs p = Patient();
  p.Erase("calcium_volume_mm3");
  absl::StatusOr<scores::AiScoreResult> r = EvaluateAiScoreModel(*m, p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("missing: calcium_volume_mm3 (mm3)"));
  p = Patient();
  p.Set("spo2", 150);
  r = EvaluateAiScoreModel(*m, p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("AI-SCoRE: spo2: implausible value"));
}

void ExpectRefused(const std::string& json, const std::string& why) {
  absl::StatusOr<AiScoreModelFile> m = ParseAiScoreModel(json, "m.json");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_THAT(m.status().message(), HasSubstr(why)) << json;
}

TEST(AiScoreModel, RefusesMalformedFiles) {
  ExpectRefused("not json", "m.json: not a JSON object");
  ExpectRefused(R"({"coefficients": [1]})", "m.json: 'features' must be a non-empty list");
  ExpectRefused(R"({"features": ["age"], "coefficients": [1]})",
                "'coefficients' has 1 values; expected the intercept and 1 feature");
  ExpectRefused(R"({"features": ["age"], "coefficients": [1, "x"]})", "finite numbers");
  ExpectRefused(R"({"features": ["agee"], "coefficients": [1, 2]})",
                "m.json: features[0]: unknown input 'agee'");
  ExpectRefused(R"({"features": [{"name": "urea", "transform": "sqrt"}], "coefficients": [1, 2]})",
                "features[0]: unknown transform 'sqrt'");
  ExpectRefused(R"({"features": [{"name": "urea", "scale": 0}], "coefficients": [1, 2]})",
                "features[0]: 'scale' must be > 0");
  ExpectRefused(R"({"features": ["age", "age"], "coefficients": [1, 2, 3]})", "given twice");
  ExpectRefused(R"({"features": ["age"], "coefficients": [1, 2], "cut_points": [45, 23]})",
                "'cut_points' must satisfy");
  ExpectRefused(R"({"features": ["age"], "coefficients": [1, 2], "outcome": "severe"})",
                "the model predicts 'severe'; an AI-SCoRE model predicts 'death'");
}

TEST(AiScoreModel, LoadNamesThePath) {
  const std::string path = testing::FreshDir("aiscore") + "/model.json";
  EXPECT_THAT(LoadAiScoreModel(path).status().message(), HasSubstr("aiscore model " + path));
  std::ofstream(path) << kExported;
  EXPECT_TRUE(LoadAiScoreModel(path).ok());
}

}  // namespace
}  // namespace scancov::node
