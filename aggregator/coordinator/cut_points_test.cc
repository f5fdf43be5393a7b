#include "aggregator/coordinator/cut_points.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/stats/roc_counts.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

v1::StudyStatus Fitted() {
  v1::StudyStatus st;
  st.set_study_id("aiscore");
  st.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  st.mutable_spec()->add_sites("kb");
  st.mutable_spec()->add_sites("igr");
  wire::LogisticSpec fit;
  fit.outcome = "death";
  fit.features = {{"age"}, {"sex"}};
  fit.split.split = "train";
  fit.split.holdout_fraction = 0.25;
  fit.min_cell_count = 5;
  st.mutable_spec()->set_spec_json(wire::ToJson(fit));
  return st;
}

TEST(CutPointsTest, EvaluatesTheFittedModelOnTheRowsTheFitUsed) {
  absl::StatusOr<v1::StudySpec> spec = CutPointStudySpec(Fitted(), {-5, 0.05, 0.4}, "aiscore-cuts");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name(), "aiscore-cuts");
  EXPECT_EQ(spec->kind(), v1::STUDY_KIND_ANALYSIS);
  ASSERT_EQ(spec->sites_size(), 2);
  const json j = json::parse(spec->spec_json());
  EXPECT_EQ(j.at("analysis"), "model_evaluation");
  EXPECT_EQ(j.at("outcome"), "death");
  EXPECT_EQ(j.at("split"), "train");
  EXPECT_EQ(j.at("holdout_fraction"), 0.25);
  EXPECT_EQ(j.at("min_cell_count"), 5);
  const json& m = j.at("models").at(0);
  EXPECT_EQ(m.at("kind"), "logistic");
  EXPECT_EQ(m.at("features"), json::array({"age", "sex"}));
  EXPECT_EQ(m.at("coefficients"), json::array({-5, 0.05, 0.4}));
  EXPECT_EQ(m.at("roc_grid").size(), 101u);  // every whole score
  absl::StatusOr<v1::StudySpec> coarse = CutPointStudySpec(Fitted(), {1, 2, 3}, "c", 5);
  ASSERT_TRUE(coarse.ok()) << coarse.status();
  const json grid = json::parse(coarse->spec_json()).at("models").at(0).at("roc_grid");
  ASSERT_EQ(grid.size(), 21u);
  EXPECT_EQ(grid[1].get<double>(), 0.05);
  EXPECT_EQ(CutPointStudySpec(Fitted(), {1, 2, 3}, "c", 7).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::StudyStatus other = Fitted();
  other.mutable_spec()->set_spec_json(R"({"analysis": "model_evaluation", "models": []})");
  EXPECT_EQ(CutPointStudySpec(other, {1}, "x").status().code(), absl::StatusCode::kInvalidArgument);
}

v1::StudyStatus Evaluated(const json& result) {
  v1::StudyStatus st;
  st.set_study_id("aiscore-cuts");
  st.set_state(v1::STUDY_STATE_DONE);
  st.add_rounds()->set_result_json(result.dump());
  return st;
}

TEST(CutPointsTest, ReadsThePooledCurve) {
  // 20 deaths and 80 survivors, pooled counts at whole scores 0, 10, ..., 100.
  stats::GridRoc roc;
  roc.positives = 20;
  roc.negatives = 80;
  const int tp[] = {20, 19, 18, 16, 14, 12, 10, 8, 5, 2, 0};
  const int fp[] = {80, 60, 40, 30, 20, 14, 10, 6, 3, 1, 0};
  for (int i = 0; i <= 10; ++i) roc.points.push_back({i / 10.0, tp[i], fp[i]});
  json pooled = stats::ToJson(roc);
  pooled["status"] = "ok";
  const v1::StudyStatus st =
      Evaluated({{"models", {{{"name", "fitted"}, {"pooled", {{"roc", pooled}}}}}}});
  absl::StatusOr<scores::AiScoreBinning> b = CutPointsFromEvaluation(st);
  ASSERT_TRUE(b.ok()) << b.status();
  // At most floor(0.1 x 20) = 2 deaths below the low cut: score 20 (2 deaths below it); 30
  // would leave 4.
  EXPECT_EQ(b->cut_points.low_medium, 20.0);
  EXPECT_EQ(b->low.patients, 42);
  EXPECT_EQ(b->low.deaths, 2);
  EXPECT_DOUBLE_EQ(b->low_death_fraction, 0.1);
  EXPECT_GT(b->cut_points.medium_high, 20.0);
  EXPECT_EQ(b->low.patients + b->medium.patients + b->high.patients, 100);
}

TEST(CutPointsTest, NoCurveIsAClearError) {
  v1::StudyStatus running = Evaluated(json::object());
  running.set_state(v1::STUDY_STATE_RUNNING);
  EXPECT_THAT(CutPointsFromEvaluation(running).status().message(), HasSubstr("not done"));
  const v1::StudyStatus refused =
      Evaluated({{"models", {{{"name", "fitted"}, {"status", "refused"}}}}});
  EXPECT_THAT(CutPointsFromEvaluation(refused).status().message(), HasSubstr("every site refused"));
  const v1::StudyStatus failed = Evaluated(
      {{"models",
        {{{"pooled", {{"roc", {{"status", "failed"}, {"reason", "different grids"}}}}}}}}});
  EXPECT_THAT(CutPointsFromEvaluation(failed).status().message(), HasSubstr("different grids"));
  const v1::StudyStatus malformed = Evaluated({{"models", {{{"pooled", {{"roc", 3}}}}}}});
  EXPECT_EQ(CutPointsFromEvaluation(malformed).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace scancov::aggregator
