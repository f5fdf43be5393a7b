#include "protocol/wire/model_evaluation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace scancov::wire {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Spec() {
  return json::parse(R"({
    "analysis": "model_evaluation", "outcome": "severe",
    "split": {"kb": "holdout", "igr": "all"}, "split_seed": 7, "holdout_fraction": 0.19,
    "survival": {"time": "time_to_event_days", "event": "event"}, "min_cell_count": 5,
    "compare": [["refit", "ScanCov"]],
    "models": [
      {"name": "ScanCov", "kind": "published", "model": "scancov_released",
       "thresholds": [0.144, 0.369]},
      {"name": "CURB-65", "kind": "curb65", "thresholds": [2, 3], "roc_grid": [0, 1, 2, 3, 4, 5]},
      {"name": "refit", "kind": "logistic",
       "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "age"],
       "coefficients": [-1.5, 0.3, 0.02], "thresholds": [0.2, 0.4]}]})");
}

TEST(ModelEvaluationWireTest, SpecRoundTrip) {
  absl::StatusOr<EvaluationSpec> spec = ParseEvaluationSpec(Spec().dump());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->outcome, "severe");
  EXPECT_EQ(spec->SplitFor("kb"), "holdout");
  EXPECT_EQ(spec->SplitFor("hegp"), "all");  // a site not named
  EXPECT_EQ(spec->split_seed, 7u);
  EXPECT_TRUE(spec->HasSurvival());
  ASSERT_EQ(spec->models.size(), 3u);
  EXPECT_EQ(spec->models[2].FeatureNames(), (std::vector<std::string>{"spo2", "age"}));
  EXPECT_EQ(RocGridOf(spec->models[0]).size(), 101u);  // probabilities: 0.00 .. 1.00
  EXPECT_EQ(RocGridOf(spec->models[1]), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  // The struct writes what it read, and reads back the same.
  EXPECT_EQ(json::parse(ToJson(*spec)), Spec());
  absl::StatusOr<EvaluationSpec> back = ParseEvaluationSpec(ToJson(*spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(*spec));

  // Defaults: every site's split "all", thresholds [0.5, 0.5], the kind's grid.
  absl::StatusOr<EvaluationSpec> minimal =
      ParseEvaluationSpec(R"({"outcome": "death", "models": [{"name": "y", "kind": "yan"}]})");
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ(minimal->SplitFor("kb"), "all");
  EXPECT_EQ(minimal->models[0].low, 0.5);
  EXPECT_EQ(RocGridOf(minimal->models[0]), (std::vector<double>{0, 1}));
  EXPECT_FALSE(minimal->HasSurvival());
}

// Every bound of the spec is refused, naming the field.
TEST(ModelEvaluationWireTest, SpecBoundsNameTheField) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j["analysis"] = "logistic_regression"; }, "analysis"},
      {[](json& j) { j.erase("outcome"); }, "outcome"},
      {[](json& j) { j["outcome"] = 3; }, "outcome"},
      {[](json& j) { j["split"] = "some"; }, "split"},
      {[](json& j) { j["split"]["kb"] = "test"; }, "split of site 'kb'"},
      {[](json& j) { j["split"] = 2; }, "split"},
      {[](json& j) { j["split_seed"] = -1; }, "split_seed"},
      {[](json& j) { j["holdout_fraction"] = 1.5; }, "holdout_fraction"},
      {[](json& j) { j["min_cell_count"] = 100001; }, "min_cell_count"},
      {[](json& j) { j["survival"].erase("event"); }, "survival"},
      {[](json& j) { j["survival"] = "days"; }, "survival"},
      {[](json& j) { j["models"] = json::array(); }, "models"},
      {[](json& j) { j["models"] = json::array({1}); }, "models[0]"},
      {[](json& j) { j["models"][0].erase("name"); }, "name"},
      {[](json& j) { j["models"][1]["name"] = "ScanCov"; }, "'ScanCov' is named twice"},
      {[](json& j) { j["models"][0]["kind"] = "magic"; }, "model 'ScanCov': kind"},
      {[](json& j) { j["models"][0].erase("model"); }, "model 'ScanCov': model"},
      {[](json& j) {
         j["models"][0]["thresholds"] = {0.4, 0.2};
       },
       "thresholds"},
      {[](json& j) { j["models"][0]["thresholds"] = {0.4}; }, "thresholds"},
      {[](json& j) {
         j["models"][1]["roc_grid"] = {1, 1};
       },
       "model 'CURB-65': roc_grid"},
      {[](json& j) { j["models"][1]["roc_grid"] = json::array(); }, "roc_grid"},
      {[](json& j) { j["models"][1]["roc_grid"] = std::vector<double>(102, 0.0); }, "roc_grid"},
      {[](json& j) { j["models"][2]["features"] = json::array(); }, "model 'refit': features"},
      {[](json& j) { j["models"][2]["features"][1] = 5; }, "model 'refit': a feature"},
      {[](json& j) {
         j["models"][2]["coefficients"] = {1, 2};
       },
       "model 'refit': coefficients"},
      {[](json& j) { j["models"][2]["coefficients"][0] = "x"; }, "coefficients"},
      {[](json& j) {
         j["compare"] = json::array({json::array({"refit", "nobody"})});
       },
       "compare[0]"},
      {[](json& j) { j["compare"] = {"refit"}; }, "compare[0]"},
  };
  for (const auto& [edit, field] : cases) {
    json j = Spec();
    edit(j);
    const absl::Status s = ParseEvaluationSpec(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j.dump();
  }
  EXPECT_FALSE(ParseEvaluationSpec("[]").ok());
  EXPECT_FALSE(ParseEvaluationSpec("not json").ok());
}

ModelAnswer OkModel() {
  ModelAnswer m;
  m.name = "ScanCov";
  m.kind = "published";
  m.status = "ok";
  m.n_not_computable = 3;
  m.n = 100;
  m.events = 40;
  m.auc = {0.8, 0.04, 0.72, 0.88};
  m.high_risk = {0.369, 30, 10, 50, 10};
  stats::GridRoc roc;
  roc.positives = 40;
  roc.negatives = 60;
  roc.points = {{0.0, 40, 60}, {0.5, 30, 10}, {1.0, 0, 0}};
  m.roc = roc;
  for (const char* g : kRiskGroups) {
    SurvivalGroup group;
    group.group = g;
    group.status = "ok";
    group.counts.times = {3, 7};
    group.counts.at_risk = {10, 6};
    group.counts.events = {2, 1};
    group.counts.censored = {2, 5};
    m.groups.push_back(group);
  }
  m.groups[2].status = "refused";
  m.groups[2].counts = {};
  m.roc_auc_trapezoid = NAN;
  return m;
}

EvaluationSiteAnswer Answer() {
  EvaluationSiteAnswer a;
  a.outcome = "severe";
  a.split = "holdout";
  a.min_cell_count = 5;
  a.models = {OkModel()};
  ModelAnswer refused;
  refused.name = "refit";
  refused.kind = "logistic";
  refused.status = "refused";
  refused.reason = "variable spo2 is not released by this site";
  a.models.push_back(refused);
  AucComparisonAnswer c{"refit", "ScanCov", 90, "ok", "", 0.82, 0.8, 0.02, 1.1, 0.27, {}};
  a.comparisons = {c};
  return a;
}

TEST(ModelEvaluationWireTest, SiteAnswerRoundTrip) {
  const std::string text = ToJson(Answer());
  absl::StatusOr<EvaluationSiteAnswer> back = ParseEvaluationSiteAnswer(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), text);
  EXPECT_EQ(back->models[0].roc->points[1].true_positives, 30);
  EXPECT_EQ(back->models[0].groups[1].counts.at_risk, (std::vector<int64_t>{10, 6}));
  EXPECT_EQ(back->models[1].reason, "variable spo2 is not released by this site");
  EXPECT_EQ(back->comparisons[0].p, 0.27);
  // The shape older aggregators read.
  const json j = json::parse(text);
  EXPECT_EQ(j.at("models")[0].at("high_risk").at("tp"), 30);
  EXPECT_EQ(j.at("models")[0].at("auc").at("se"), 0.04);
  EXPECT_EQ(j.at("models")[0].at("roc").at("points").size(), 3u);
}

// What a site sends is checked on upload; every refusal names the model and the field.
TEST(ModelEvaluationWireTest, SiteAnswerChecksOnUpload) {
  const json good = json::parse(ToJson(Answer()));
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& m) { m["status"] = "maybe"; }, "status"},
      {[](json& m) { m["name"] = 3; }, "'name'"},
      {[](json& m) { m["auc"]["auc"] = 1.5; }, "model 'ScanCov': auc"},
      {[](json& m) { m["auc"]["se"] = 0; }, "auc"},
      {[](json& m) { m["auc"]["se"] = "small"; }, "se"},
      {[](json& m) { m.erase("auc"); }, "auc is required"},
      {[](json& m) { m["high_risk"]["tp"] = -1; }, "tp"},
      {[](json& m) { m["high_risk"].erase("fn"); }, "fn"},
      {[](json& m) { m["high_risk"].erase("threshold"); }, "threshold"},
      {[](json& m) { m.erase("high_risk"); }, "high_risk is required"},
      {[](json& m) { m["n"] = -3; }, "n must be"},
      {[](json& m) { m["events"] = 101; }, "events"},
      {[](json& m) { m["n_not_computable"] = -1; }, "n_not_computable"},
      {[](json& m) { m["roc"]["points"][1]["tp"] = 50; }, "model 'ScanCov'"},  // > positives
      {[](json& m) { m["roc"] = 3; }, "roc"},
      {[](json& m) { m["groups"] = json::array(); }, "groups"},
      {[](json& m) { m["groups"][0]["group"] = "lowest"; }, "groups"},
      {[](json& m) { m["groups"][1]["counts"] = 4; }, "group 'medium'"},
      {[](json& m) {
         m["groups"][1]["counts"]["at_risk"] = {10, 9};
       },
       "group 'medium'"},
      {[](json& m) { m["groups"][2]["status"] = "gone"; }, "group 'high'"},
      {[](json& m) { m["groups"][0].erase("bin_width"); }, "bin_width is required"},
      {[](json& m) { m["groups"][0]["bin_width"] = 2.5; }, "bin_width must be a whole number"},
      {[](json& m) { m["groups"][0]["bin_width"] = 0; }, "bin_width must be a whole number"},
      {[](json& m) { m["groups"][0]["bin_width"] = 7; }, "multiple of bin_width"},  // 3 and 7
      {[](json& m) {
         m["withheld"] = {{"high_risk", 1}};
       },
       "reason code"},
      {[](json& m) { m["withheld"] = "high_risk"; }, "withheld must be"},
  };
  for (const auto& [edit, field] : cases) {
    json j = good;
    edit(j["models"][0]);
    const absl::Status s = ParseEvaluationSiteAnswer(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j["models"][0].dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j["models"][0].dump();
  }
  json bad = good;
  bad["comparisons"][0]["p"] = 2;
  EXPECT_THAT(ParseEvaluationSiteAnswer(bad.dump()).status().message(), HasSubstr("p in [0, 1]"));
  bad = good;
  bad["split"] = 3;
  EXPECT_THAT(ParseEvaluationSiteAnswer(bad.dump()).status().message(), HasSubstr("split"));
  EXPECT_THAT(ParseEvaluationSiteAnswer(R"({"outcome": "severe"})").status().message(),
              HasSubstr("not a model evaluation"));
  // A refused model needs no figures.
  EXPECT_TRUE(ParseEvaluationSiteAnswer(
                  R"({"models": [{"name": "m", "status": "refused", "reason": "few"}]})")
                  .ok());
}

// What the aggregator stored is read without refusing it for an unusable curve or an absent
// figure: the curve is kept as unusable, the rest stands.
TEST(ModelEvaluationWireTest, StoredAnswersKeepAnUnusableCurve) {
  json j = json::parse(ToJson(Answer()));
  j["models"][0]["roc"]["points"][1]["tp"] = 50;
  j["models"][0].erase("events");
  absl::StatusOr<EvaluationSiteAnswer> a = ParseEvaluationSiteAnswer(j.dump(), ReadMode::kStored);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->models[0].roc.has_value());
  EXPECT_FALSE(a->models[0].roc_error.empty());
  EXPECT_EQ(a->models[0].events, 0);
  j["models"][0]["auc"]["auc"] = "high";  // a wrong type still is an error
  EXPECT_EQ(ParseEvaluationSiteAnswer(j.dump(), ReadMode::kStored).status().code(),
            absl::StatusCode::kInvalidArgument);
}

EvaluationResult Result() {
  EvaluationResult r;
  r.outcome = "severe";
  r.sites = {"kb", "igr"};
  EvaluationModelResult m;
  m.name = "ScanCov";
  ModelAnswer kb = OkModel();
  kb.split = "holdout";
  kb.roc_auc_trapezoid = 0.79;
  m.sites["kb"] = kb;
  ModelAnswer igr = OkModel();
  igr.split = "all";
  igr.roc.reset();
  igr.roc_error = "site igr: no positives";
  m.sites["igr"] = igr;
  PooledEvaluation& p = m.pooled;
  p.sites_used = 2;
  p.has_auc = true;
  p.auc = {0.8, NAN, 0.75, 0.85};
  p.i_squared = 0.1;
  p.high_risk = {NAN, 60, 20, 100, 20};
  p.high_risk_sites = 2;
  p.has_roc = true;
  p.roc = *kb.roc;
  p.roc_sites = 1;
  p.roc_auc_trapezoid = 0.79;
  p.has_survival = true;
  p.chi_square = 12.5;
  p.df = 2;
  p.log_rank_p = 0.0019;
  p.log_rank_sites = 2;
  for (KaplanMeierGroup& g : p.kaplan_meier) g = {20, {{7, 0.8}, {14, 0.65}}};
  p.survival_bin_width = 7;
  r.models = {m};
  r.comparisons["kb"] = Answer().comparisons;
  r.comparisons["igr"] = {};
  return r;
}

TEST(ModelEvaluationWireTest, CombinedResultRoundTrip) {
  const std::string text = ToJson(Result());
  absl::StatusOr<EvaluationResult> back = ParseEvaluationResult(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), text);
  const EvaluationModelResult& m = back->models[0];
  EXPECT_EQ(m.sites.at("kb").roc_auc_trapezoid, 0.79);
  EXPECT_EQ(m.sites.at("igr").roc_error, "site igr: no positives");
  EXPECT_EQ(m.pooled.kaplan_meier[1].points[1].second, 0.65);
  EXPECT_EQ(m.pooled.survival_bin_width, 7);
  EXPECT_EQ(m.pooled.high_risk_sites, 2);
  // The shape the reports read: rates with the counts, null where a rate has no denominator.
  const json j = json::parse(text);
  const json& kb = j.at("models")[0].at("sites").at("kb");
  EXPECT_EQ(kb.at("split"), "holdout");
  EXPECT_EQ(kb.at("high_risk").at("sensitivity"), 0.75);  // 30 / (30 + 10)
  EXPECT_EQ(kb.at("roc").at("auc_trapezoid"), 0.79);
  EXPECT_EQ(j.at("models")[0].at("sites").at("igr").at("roc").at("status"), "failed");
  const json& pooled = j.at("models")[0].at("pooled");
  EXPECT_EQ(pooled.at("roc").at("status"), "ok");
  EXPECT_EQ(pooled.at("kaplan_meier").at("high").at("n"), 20);
  EXPECT_EQ(pooled.at("log_rank").at("df"), 2);
  EvaluationResult empty = Result();
  empty.models[0].pooled.high_risk = {};
  EXPECT_TRUE(json::parse(ToJson(empty))
                  .at("models")[0]
                  .at("pooled")
                  .at("high_risk")
                  .at("sensitivity")
                  .is_null());
}

// What a site withholds (a count neither 0 nor at least its minimum) travels as a reason code,
// never as a number: the figure is absent and named in "withheld", and the answer is accepted
// without it.
TEST(ModelEvaluationWireTest, WithheldFiguresTravelAsReasonCodes) {
  EvaluationSiteAnswer a = Answer();
  a.models[0].withheld = {{"high_risk", kBelowMinCell}, {"n_not_computable", kBelowMinCell}};
  a.models[0].groups[2].status = "withheld";
  a.models[0].groups[2].reason = kBelowMinCell;
  a.models[0].groups[1].bin_width = 7;
  a.models[0].groups[1].counts.times = {7, 14};
  a.comparisons[0].status = "refused";
  a.comparisons[0].withheld = {{"n", kBelowMinCell}};
  const std::string text = ToJson(a);
  const json j = json::parse(text);
  const json& m = j.at("models")[0];
  EXPECT_FALSE(m.contains("high_risk"));
  EXPECT_FALSE(m.contains("n_not_computable"));
  EXPECT_EQ(m.at("withheld").at("high_risk"), "below_min_cell");
  EXPECT_EQ(m.at("groups")[2].at("status"), "withheld");
  EXPECT_FALSE(m.at("groups")[2].contains("counts"));
  EXPECT_EQ(m.at("groups")[1].at("bin_width"), 7);
  EXPECT_FALSE(j.at("comparisons")[0].contains("n"));
  absl::StatusOr<EvaluationSiteAnswer> back = ParseEvaluationSiteAnswer(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), text);
  EXPECT_TRUE(back->models[0].IsWithheld("high_risk"));
  EXPECT_EQ(back->models[0].groups[1].bin_width, 7);
  EXPECT_EQ(back->comparisons[0].withheld.at("n"), "below_min_cell");
  // In the combined result too: the site's entry says what it withheld.
  EvaluationResult r = Result();
  r.models[0].sites["kb"].withheld = {{"high_risk", kBelowMinCell}};
  r.models[0].pooled.high_risk_sites = 1;
  r.models[0].pooled.survival_error = "no common grid";
  const std::string combined = ToJson(r);
  absl::StatusOr<EvaluationResult> stored = ParseEvaluationResult(combined);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(ToJson(*stored), combined);
  EXPECT_FALSE(json::parse(combined).at("models")[0].at("sites").at("kb").contains("high_risk"));
  EXPECT_EQ(stored->models[0].pooled.survival_error, "no common grid");
  // An answer stored before sites chose a width was counted in whole days.
  json old = json::parse(ToJson(Answer()));
  old["models"][0]["groups"][0].erase("bin_width");
  absl::StatusOr<EvaluationSiteAnswer> before =
      ParseEvaluationSiteAnswer(old.dump(), ReadMode::kStored);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->models[0].groups[0].bin_width, 1);
}

TEST(ModelEvaluationWireTest, CombinedResultRefusesWrongTypes) {
  for (const char* bad :
       {"[]", "not json", R"({"models": 5})", R"({"models": [5]})", R"({"models": [{"name": 3}]})",
        R"({"models": [{"sites": {"kb": 7}}]})", R"({"models": [{"pooled": {"roc": 3}}]})",
        R"({"models": [{"pooled": 4}]})", R"({"models": [], "comparisons": {"kb": 1}})"}) {
    EXPECT_EQ(ParseEvaluationResult(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // A failed pooled curve keeps its reason.
  absl::StatusOr<EvaluationResult> failed = ParseEvaluationResult(
      R"({"models": [{"pooled": {"roc": {"status": "failed", "reason": "different grids"}}}]})");
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->models[0].pooled.roc_error, "different grids");
}

}  // namespace
}  // namespace scancov::wire
