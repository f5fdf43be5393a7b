#include "protocol/wire/intercept_calibration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace scancov::wire {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

scores::InterceptSiteSummary Summary() {
  scores::InterceptSiteSummary s;
  s.intercept = -1.25;
  s.score = 3.5;
  s.information = 40.25;
  s.log_likelihood = -210.5;
  s.num_observations = 400;
  s.num_events = 90;
  return s;
}

TEST(InterceptCalibrationWireTest, SpecRoundTripAndBounds) {
  InterceptSpec spec;
  spec.outcome = "severe";
  spec.model = "scancov_paper";
  spec.split.by_site = true;
  spec.split.per_site = {{"kb", "holdout"}};
  spec.min_cell_count = 5;
  absl::StatusOr<InterceptSpec> back = ParseInterceptSpec(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(spec));
  EXPECT_EQ(back->split.For("kb"), "holdout");
  EXPECT_TRUE(ParseInterceptSpec(R"({"outcome": "severe", "model": "scancov_paper"})").ok());
  for (const auto& [text, field] : std::vector<std::pair<const char*, const char*>>{
           {"[]", "not a JSON object"},
           {R"({"analysis": "logistic_regression", "outcome": "severe", "model": "m"})",
            "analysis must be"},
           {R"({"model": "m"})", "outcome is required"},
           {R"({"outcome": "severe"})", "model is required"},
           {R"({"outcome": "severe", "model": 3})", "model must be a string"},
           {R"({"outcome": "severe", "model": "m", "split": "test"})", "split must be"},
           {R"({"outcome": "severe", "model": "m", "holdout_fraction": 3})", "holdout_fraction"},
           {R"({"outcome": "severe", "model": "m", "min_cell_count": -2})", "min_cell_count"}}) {
    const absl::Status s = ParseInterceptSpec(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
}

TEST(InterceptCalibrationWireTest, CheckpointRoundTripAndChecks) {
  const protocol::TensorSet t = InterceptToTensors(-1.25);
  EXPECT_EQ(*ParseInterceptCheckpoint(&t), -1.25);
  EXPECT_EQ(*ParseInterceptCheckpoint(nullptr), 0.0);  // round 0
  const protocol::TensorSet nan = InterceptToTensors(NAN);
  EXPECT_THAT(ParseInterceptCheckpoint(&nan).status().message(), HasSubstr("must be finite"));
  protocol::TensorSet two;
  ASSERT_TRUE(
      two.Add(protocol::FromDoubles(kInterceptTensor, {2}, protocol::DType::kFloat64, {1, 2}))
          .ok());
  EXPECT_THAT(ParseInterceptCheckpoint(&two).status().message(), HasSubstr("float64 [1]"));
  const protocol::TensorSet empty;
  EXPECT_FALSE(ParseInterceptCheckpoint(&empty).ok());
}

TEST(InterceptCalibrationWireTest, SiteAnswersRoundTripAndBounds) {
  InterceptSiteAnswer ok;
  ok.summary = Summary();
  InterceptSiteAnswer refused;
  refused.refused = true;
  refused.reason = "fewer events or non-events than the minimum";
  for (const InterceptSiteAnswer& a : {ok, refused}) {
    absl::StatusOr<InterceptSiteAnswer> back = ParseInterceptSiteAnswer(ToJson(a));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(ToJson(*back), ToJson(a));
  }
  const json good = json::parse(ToJson(ok));
  const auto with = [&](const char* key, const json& v) {
    json j = good;
    j["summary"][key] = v;
    return j.dump();
  };
  json no_n = good;
  no_n["summary"].erase("n");
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"17", "not a JSON object"},
           {R"({"status": "maybe"})", "status must be ok or refused"},
           {R"({"summary": {}})", "status must be ok or refused"},
           {R"({"status": "refused", "reason": 1})", "reason must be a string"},
           {R"({"status": "ok"})", "summary is required"},
           {R"({"status": "ok", "summary": 5})", "summary: must be an object"},
           {with("score", "x"), "score must be a finite number"},
           {with("information", -1), "information must be >= 0"},
           {with("log_likelihood", 1), "log_likelihood must be <= 0"},
           {with("n", -1), "n must be an integer"},
           {with("events", 401), "events must be an integer in 0..400"},
           {no_n.dump(), "n and events are required"}}) {
    const absl::Status s = ParseInterceptSiteAnswer(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
}

TEST(InterceptCalibrationWireTest, RoundResultRoundTripAndChecks) {
  InterceptRoundResult r;
  r.pooled_summary = Summary();
  r.refused = {"tiny"};
  absl::StatusOr<InterceptRoundResult> back = ParseInterceptRoundResult(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->fit.has_value());
  scores::InterceptCalibration fit;
  fit.intercept = -1.1;
  fit.standard_error = 0.08;
  fit.iterations = 4;
  fit.num_observations = 400;
  fit.num_events = 90;
  fit.log_likelihood = -209.0;
  r.fit = fit;
  back = ParseInterceptRoundResult(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(r));
  EXPECT_EQ(back->refused, std::vector<std::string>{"tiny"});
  const json good = json::parse(ToJson(r));
  json no_pooled = good;
  no_pooled.erase("pooled_summary");
  json no_se = good;
  no_se["fit"].erase("se");
  json negative_se = good;
  negative_se["fit"]["se"] = -1;
  json refused_ids = good;
  refused_ids["refused"] = {{{"site", "tiny"}}};
  for (const auto& [j, field] :
       std::vector<std::pair<json, std::string>>{{no_pooled, "pooled_summary is required"},
                                                 {no_se, "fit: se is required"},
                                                 {negative_se, "se must be >= 0"},
                                                 {refused_ids, "refused must hold strings"}}) {
    const absl::Status s = ParseInterceptRoundResult(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j.dump();
  }
}

}  // namespace
}  // namespace scancov::wire
