#include "protocol/wire/logistic_regression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace scancov::wire {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

LogisticSpec Spec() {
  LogisticSpec s;
  s.outcome = "severe";
  s.features = {{"age", "none", 60, 15}, {"spo2", "neglog_101_minus"}, {"sex"}};
  s.l2 = 0.5;
  s.split.split = "train";
  s.split.seed = 7;
  s.min_cell_count = 10;
  return s;
}

stats::LogisticSiteSummary Summary(std::vector<double> beta) {
  stats::LogisticSiteSummary s;
  const size_t p = beta.size();
  s.beta = std::move(beta);
  s.gradient.assign(p, 0.25);
  s.information.assign(p * p, 1.5);
  s.log_likelihood = -40.5;
  s.weight_sum = 80;
  s.num_observations = 80;
  s.num_events = 20;
  return s;
}

TEST(LogisticRegressionWireTest, SpecRoundTrip) {
  const LogisticSpec spec = Spec();
  absl::StatusOr<LogisticSpec> back = ParseLogisticSpec(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(spec));
  EXPECT_EQ(LogisticTerms(*back), (std::vector<std::string>{kInterceptTerm, "age", "spo2", "sex"}));
  EXPECT_EQ(LogisticOptionsOf(*back).l2_penalty, 0.5);
  EXPECT_EQ(back->split.For("kb"), "train");
  const json j = json::parse(ToJson(spec));
  EXPECT_EQ(j.at("features")[2], "sex");
  EXPECT_EQ(j.at("split"), "train");

  absl::StatusOr<LogisticSpec> defaults =
      ParseLogisticSpec(R"({"outcome": "severe", "features": ["age"]})");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->max_iterations, 30);
  EXPECT_EQ(defaults->tolerance, 1e-10);
  EXPECT_TRUE(defaults->terciles);
  EXPECT_EQ(defaults->split.For("kb"), "all");
}

TEST(LogisticRegressionWireTest, EverySpecBoundIsRefusedNamingTheField) {
  const std::string f = R"("outcome": "severe", "features": ["age"])";
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {R"({"analysis": "model_selection", )" + f + "}", "analysis must be"},
           {R"({"features": ["age"]})", "outcome is required"},
           {R"({"outcome": 5, "features": ["age"]})", "outcome must be a string"},
           {R"({"outcome": "severe"})", "features must be a list"},
           {R"({"outcome": "severe", "features": [{"name": 3}]})", "features[0]"},
           {"{" + f + R"(, "l2": -1})", "l2 must be >= 0"},
           {"{" + f + R"(, "l2": "x"})", "l2 must be a finite number"},
           {"{" + f + R"(, "max_iterations": 0})", "max_iterations must be an integer in 1..1000"},
           {"{" + f + R"(, "max_iterations": 2.5})", "max_iterations must be an integer"},
           {"{" + f + R"(, "tolerance": 0})", "tolerance must be in (0, 1)"},
           {"{" + f + R"(, "tolerance": 2})", "tolerance must be in (0, 1)"},
           {"{" + f + R"(, "terciles": "yes"})", "terciles must be true or false"},
           {"{" + f + R"(, "split": "test"})", "split must be"},
           {"{" + f + R"(, "split_seed": -7})", "split_seed must be"},
           {"{" + f + R"(, "holdout_fraction": 2})", "holdout_fraction must be one of"},
           {"{" + f + R"(, "min_cell_count": -1})", "min_cell_count must be an integer"},
           {"{" + f + R"(, "min_cell_count": 1000001})", "min_cell_count must be an integer"}}) {
    const absl::Status s = ParseLogisticSpec(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
}

TEST(LogisticRegressionWireTest, CheckpointRoundTripAndChecks) {
  const LogisticCheckpoint newton{{-1.0, 0.5, 0.25}, {}};
  const protocol::TensorSet newton_tensors = ToTensors(newton);
  absl::StatusOr<LogisticCheckpoint> back = ParseLogisticCheckpoint(&newton_tensors, 3);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->beta, newton.beta);
  EXPECT_FALSE(back->IsTercileRound());
  const protocol::TensorSet terciles = ToTensors({{-1.0, 0.5, 0.25}, {-1.0, 0.0, 1.0}});
  back = ParseLogisticCheckpoint(&terciles, 3);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->tercile_candidates, (std::vector<double>{-1.0, 0.0, 1.0}));
  EXPECT_TRUE(ParseLogisticCheckpoint(nullptr, 3)->beta.empty());  // round 0

  EXPECT_THAT(ParseLogisticCheckpoint(&terciles, 4).status().message(),
              HasSubstr("'beta' must be float64 [4]"));
  const protocol::TensorSet nan_beta = ToTensors({{-1.0, NAN, 0.25}, {}});
  EXPECT_THAT(ParseLogisticCheckpoint(&nan_beta, 3).status().message(),
              HasSubstr("'beta' must be finite"));
  const protocol::TensorSet inf_candidate = ToTensors({{-1.0, 0.5, 0.25}, {0.0, INFINITY}});
  EXPECT_THAT(ParseLogisticCheckpoint(&inf_candidate, 3).status().message(),
              HasSubstr("'tercile_candidates' must be finite"));
  const protocol::TensorSet too_many =
      ToTensors({{-1.0, 0.5, 0.25}, std::vector<double>(kMaxTercileCandidates + 1, 0.0)});
  EXPECT_THAT(ParseLogisticCheckpoint(&too_many, 3).status().message(),
              HasSubstr("'tercile_candidates' must be float64 [K], 1 <= K <= 256"));
  protocol::TensorSet extra = ToTensors(newton);
  ASSERT_TRUE(extra.Add(protocol::FromDoubles("w", {1}, protocol::DType::kFloat64, {1})).ok());
  EXPECT_THAT(ParseLogisticCheckpoint(&extra, 3).status().message(), HasSubstr("other tensors"));
  protocol::TensorSet floats;
  ASSERT_TRUE(floats.Add(protocol::MakeFloat32(kLogisticBeta, {3}, {1, 2, 3})).ok());
  EXPECT_THAT(ParseLogisticCheckpoint(&floats, 3).status().message(), HasSubstr("float64"));
  const protocol::TensorSet empty;
  EXPECT_THAT(ParseLogisticCheckpoint(&empty, 3).status().message(), HasSubstr("no 'beta' tensor"));
}

TEST(LogisticRegressionWireTest, SiteAnswersRoundTrip) {
  LogisticSiteAnswer summary;
  summary.split = "train";
  summary.n_complete = 80;
  summary.n_incomplete = 3;
  summary.summary = Summary({0, 0, 0, 0});
  LogisticSiteAnswer counts = summary;
  counts.terciles = true;
  counts.n_rows = 80;
  counts.tercile_counts = {0, 12, 12, 80};
  LogisticSiteAnswer refused;
  refused.refused = true;
  refused.reason = "variable ldh is not released by this site";
  for (const LogisticSiteAnswer& a : {summary, counts, refused}) {
    absl::StatusOr<LogisticSiteAnswer> back = ParseLogisticSiteAnswer(ToJson(a));
    ASSERT_TRUE(back.ok()) << back.status() << ToJson(a);
    EXPECT_EQ(ToJson(*back), ToJson(a));
  }
  const json j = json::parse(ToJson(counts));
  EXPECT_EQ(j.at("phase"), "terciles");
  EXPECT_EQ(j.at("status"), "ok");
  EXPECT_FALSE(json::parse(ToJson(refused)).contains("split"));  // refused before reading rows
  // An older answer without "analysis" or "phase" still reads.
  absl::StatusOr<LogisticSiteAnswer> old =
      ParseLogisticSiteAnswer(R"({"status": "ok", "n_rows": 5, "tercile_counts": [1, 2, 4]})");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->terciles);
}

TEST(LogisticRegressionWireTest, EveryAnswerBoundIsRefusedNamingTheField) {
  LogisticSiteAnswer ok;
  ok.summary = Summary({0, 0});
  const json good = json::parse(ToJson(ok));
  const auto with = [&](const char* key, const json& value) {
    json j = good;
    j[key] = value;
    return j.dump();
  };
  const auto with_summary = [&](const char* key, const json& value) {
    json j = good;
    j["summary"][key] = value;
    return j.dump();
  };
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"17", "not a JSON object"},
           {with("status", 1), "status must be a string"},
           {with("status", "maybe"), "status must be ok or refused"},
           {R"({"status": "refused", "reason": 42})", "reason must be a string"},
           {with("split", "test"), "split must be all, train or holdout"},
           {with("n_complete", -1), "n_complete must be an integer"},
           {R"({"status": "ok", "summary": 5})", "no logistic summary"},
           {R"({"status": "ok"})", "no logistic summary"},
           {with_summary("gradient", json::array({1.0})), "need p, p and p x p values"},
           {with_summary("log_likelihood", 0.5), "log_likelihood <= 0"},
           {with_summary("weight_sum", -1), "weight_sum >= 0"},
           {with_summary("num_events", 81), "counts out of range"},
           {with_summary("num_observations", 80.5), "num_observations must be an integer"},
           {with_summary("beta", "x"), "beta"},
           {R"({"n_rows": 5, "tercile_counts": [0, 3, 2, 5]})", "non-decreasing"},
           {R"({"n_rows": 4, "tercile_counts": [0, 2, 2, 5]})", "in 0..n_rows"},
           {R"({"n_rows": 5, "tercile_counts": [0, 2, 2.5, 5]})", "integers"},
           {R"({"tercile_counts": [0, 2, 2, 5]})", "n_rows is required"},
           {R"({"phase": "terciles", "n_rows": 5})", "tercile_counts must be a list"},
           {R"({"n_rows": 1099511627777, "tercile_counts": [0]})", "n_rows must be an integer"}}) {
    const absl::Status s = ParseLogisticSiteAnswer(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
}

TEST(LogisticRegressionWireTest, AnswerIsCheckedAgainstTheRound) {
  LogisticSiteAnswer a;
  a.summary = Summary({0, 0, 0});
  EXPECT_TRUE(CheckLogisticAnswer(a, {}, 3).ok());  // round 0: beta = 0
  EXPECT_THAT(CheckLogisticAnswer(a, {}, 4).message(), HasSubstr("summary of 3 coefficients"));
  EXPECT_THAT(CheckLogisticAnswer(a, {{0, 0, 1}, {}}, 3).message(),
              HasSubstr("other coefficients"));
  EXPECT_THAT(CheckLogisticAnswer(a, {{0, 0, 0}, {-1, 1}}, 3).message(),
              HasSubstr("0 tercile counts for 2 candidates"));
  LogisticSiteAnswer counts;
  counts.terciles = true;
  counts.n_rows = 5;
  counts.tercile_counts = {1, 2, 4};
  EXPECT_TRUE(CheckLogisticAnswer(counts, {{0, 1}, {-1, 0, 1}}, 2).ok());
  EXPECT_THAT(CheckLogisticAnswer(counts, {{0, 1}, {-1, 1}}, 2).message(),
              HasSubstr("3 tercile counts for 2 candidates"));
  EXPECT_THAT(CheckLogisticAnswer(counts, {{0, 1}, {}}, 2).message(),
              HasSubstr("where a summary was asked"));
  LogisticSiteAnswer refused;
  refused.refused = true;
  EXPECT_TRUE(CheckLogisticAnswer(refused, {{0, 1}, {-1, 1}}, 2).ok());
}

LogisticRoundResult Converged() {
  LogisticRoundResult r;
  r.pooled_summary = Summary({-1.2, 0.4});
  r.sites = 2;
  r.refused = {{"tiny", "fewer than 10 events or non-events"}};
  LogisticModelFit fit;
  fit.iterations = 6;
  fit.n = 160;
  fit.events = 40;
  fit.log_likelihood = -81.0;
  fit.coefficients = {{kInterceptTerm, -1.2, 0.2, -6, 2e-9, std::exp(-1.2), 0.2, 0.45},
                      {"age", 0.4, 0.1, 4, 6e-5, std::exp(0.4), 1.2, 1.8}};
  r.fit = fit;
  return r;
}

TEST(LogisticRegressionWireTest, RoundResultsRoundTrip) {
  const LogisticRoundResult newton = Converged();
  absl::StatusOr<LogisticRoundResult> back = ParseLogisticRoundResult(ToJson(newton));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(newton));
  EXPECT_EQ(back->fit->Beta(), (std::vector<double>{-1.2, 0.4}));
  EXPECT_EQ(back->refused[0].site, "tiny");

  LogisticRoundResult terciles = newton;
  terciles.terciles = true;
  terciles.tercile_candidates = {-1.0, 0.0, 1.0};
  terciles.tercile_pooled_counts = {10, 80, 150};
  terciles.fit->terciles_rounds = 4;
  terciles.fit->terciles_tolerance_logit = 1e-4;
  terciles.fit->terciles = {0.15, 0.4};
  terciles.fit->five_level_cuts = {0.1, 0.15, 0.4, 0.6};
  back = ParseLogisticRoundResult(ToJson(terciles));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(terciles));
  const json j = json::parse(ToJson(terciles));
  EXPECT_EQ(j.at("phase"), "terciles");
  EXPECT_FALSE(j.contains("pooled_summary"));
  EXPECT_EQ(j.at("fit").at("terciles_rounds"), 4);

  LogisticRoundResult undefined = newton;
  undefined.fit->coefficients[1].se = NAN;  // travels as null
  EXPECT_THAT(ToJson(undefined), HasSubstr("\"se\":null"));
  back = ParseLogisticRoundResult(ToJson(undefined));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::isnan(back->fit->coefficients[1].se));
}

TEST(LogisticRegressionWireTest, MalformedRoundResultsAreRefused) {
  const json good = json::parse(ToJson(Converged()));
  const auto without = [&](const char* key) {
    json j = good;
    j.erase(key);
    return j.dump();
  };
  const auto with_fit = [&](const char* key, const json& value) {
    json j = good;
    j["fit"][key] = value;
    return j.dump();
  };
  json terciles = good;
  terciles["phase"] = "terciles";
  terciles[kTercileCandidates] = {-1.0, 1.0};
  terciles["tercile_pooled_counts"] = {3};
  json no_fit = terciles;
  no_fit["tercile_pooled_counts"] = {3, 4};
  no_fit.erase("fit");
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {without("pooled_summary"), "needs its pooled_summary"},
           {terciles.dump(), "as many tercile_pooled_counts as tercile_candidates"},
           {no_fit.dump(), "a terciles round carries the fit"},
           {with_fit("coefficients", 3), "coefficients must be a list"},
           {with_fit("n", -1), "n must be an integer"},
           {with_fit("events", 161), "events must be an integer in 0..160"},
           {with_fit("terciles", json::array({0.4, 0.15})), "five_level_cuts 4"},
           {with_fit("iterations", "six"), "iterations must be an integer"}}) {
    const absl::Status s = ParseLogisticRoundResult(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
  json unordered = good;
  unordered["fit"]["terciles"] = {0.4, 0.15};
  unordered["fit"]["five_level_cuts"] = {0.1, 0.15, 0.4, 0.6};
  EXPECT_THAT(ParseLogisticRoundResult(unordered.dump()).status().message(),
              HasSubstr("terciles are not 0 < t1 < t2 < 1"));
}

}  // namespace
}  // namespace scancov::wire
