#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "core/status_macros.h"
#include "gtest/gtest.h"
#include "models/stats/auc.h"
#include "models/stats/kaplan_meier.h"
#include "models/stats/log_rank.h"
#include "models/stats/roc_counts.h"
#include "models/stats/survival_counts.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

double Frac(double x) { return x - std::floor(x); }

// Two sites' scores and outcomes from a formula that R reproduces bit for bit:
//   frac <- function(x) x - floor(x)
//   ia <- 0:299; ua <- frac(ia * 0.6180339887498949)
//   ya <- as.integer(frac(ia * 0.7548776662466927) < 0.25 + 0.5 * ua)
//   ib <- 0:199; ub <- frac(ib * 0.4142135623730951 + 0.1)
//   yb <- as.integer(frac(ib * 0.5698402909980532) < 0.2 + 0.6 * ub * ub)
struct SiteData {
  std::vector<double> score, y;
};

SiteData SiteA() {
  SiteData d;
  for (int i = 0; i < 300; ++i) {
    d.score.push_back(Frac(i * 0.6180339887498949));
    d.y.push_back(Frac(i * 0.7548776662466927) < 0.25 + 0.5 * d.score.back() ? 1 : 0);
  }
  return d;
}

SiteData SiteB() {
  SiteData d;
  for (int i = 0; i < 200; ++i) {
    const double u = Frac(i * 0.4142135623730951 + 0.1);
    d.score.push_back(u);
    d.y.push_back(Frac(i * 0.5698402909980532) < 0.2 + 0.6 * u * u ? 1 : 0);
  }
  return d;
}

// What a node returns for one model (node/tasks/model_evaluation.cc), at `grid`.
std::string SiteResult(const SiteData& d, const std::vector<double>& grid) {
  absl::StatusOr<stats::AucResult> auc = stats::AucWithDeLong(d.score, d.y);
  absl::StatusOr<stats::GridRoc> roc = stats::RocAtGrid(d.score, d.y, grid);
  EXPECT_TRUE(auc.ok() && roc.ok());
  wire::ModelAnswer model;
  model.name = "m";
  model.kind = "published";
  model.status = "ok";
  model.n = static_cast<int64_t>(d.y.size());
  for (double y : d.y) model.events += y == 1.0;
  model.auc = {auc->auc, auc->standard_error, auc->ci_lower, auc->ci_upper};
  model.high_risk = {0.5, 1, 1, 1, 1};
  model.roc = *roc;
  wire::EvaluationSiteAnswer answer;
  answer.outcome = "severe";
  answer.models = {model};
  return wire::ToJson(answer);
}

wire::EvaluationSpec Spec() {
  wire::EvaluatedModel m;
  m.name = "m";
  m.kind = "published";
  m.model = "scancov_released";
  wire::EvaluationSpec spec;
  spec.outcome = "severe";
  spec.models = {m};
  return spec;
}

// The study's logic, as the aggregator creates it from the spec.
std::unique_ptr<StudyLogic> MakeModelEvaluationStudyLogic() {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_spec_json(wire::ToJson(Spec()));
  absl::StatusOr<std::unique_ptr<StudyLogic>> logic = CreateStudyLogic(spec);
  EXPECT_TRUE(logic.ok()) << logic.status();
  return logic.ok() ? std::move(*logic) : nullptr;
}

absl::StatusOr<json> Close(const std::string& a, const std::string& b) {
  StudyRecord study;
  study.spec.add_sites("a");
  study.spec.add_sites("b");
  study.spec.set_spec_json(wire::ToJson(Spec()));
  std::vector<ResultRecord> results(2);
  results[0].site_id = "a";
  results[0].result_json = a;
  results[1].site_id = "b";
  results[1].result_json = b;
  SCV_ASSIGN_OR_RETURN(RoundOutcome out,
                       MakeModelEvaluationStudyLogic()->CloseRound(study, 0, nullptr, results, {}));
  return json::parse(out.result_json).at("models").at(0);
}

TEST(ModelEvaluationStudyTest, PooledRocIsTheSumAndItsAreaApproachesThePooledAuc) {
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  absl::StatusOr<json> model = Close(SiteResult(SiteA(), grid), SiteResult(SiteB(), grid));
  ASSERT_TRUE(model.ok()) << model.status();
  const json& pooled = model->at("pooled").at("roc");
  ASSERT_EQ(pooled.at("status"), "ok") << pooled.dump();
  EXPECT_EQ(pooled.at("sites"), 2);
  // R: sum(ya) = 151 of 300, sum(yb) = 81 of 200.
  EXPECT_EQ(pooled.at("positives"), 151 + 81);
  EXPECT_EQ(pooled.at("negatives"), 149 + 119);
  const json& a = model->at("sites").at("a").at("roc").at("points");
  const json& b = model->at("sites").at("b").at("roc").at("points");
  ASSERT_EQ(pooled.at("points").size(), 101u);
  for (size_t k = 0; k < 101; ++k) {
    const json& p = pooled.at("points")[k];
    EXPECT_EQ(p.at("threshold").get<double>(), grid[k]);
    EXPECT_EQ(p.at("tp").get<int64_t>(),
              a[k].at("tp").get<int64_t>() + b[k].at("tp").get<int64_t>());
    EXPECT_EQ(p.at("fp").get<int64_t>(),
              a[k].at("fp").get<int64_t>() + b[k].at("fp").get<int64_t>());
  }
  // R: s <- c(ua, ub); y <- c(ya, yb)
  //   sum(s >= 0.5 & y == 1) = 151, sum(s >= 0.5 & y == 0) = 99
  EXPECT_EQ(pooled.at("points")[50].at("tp"), 151);
  EXPECT_EQ(pooled.at("points")[50].at("fp"), 99);
  // R 4.x, pROC: auc(roc(y, s, direction = "<")) = 0.688304168811117 (exact, pooled patients);
  //   the same on the scores rounded down to the grid, grid <- (0:100) / 100,
  //   auc(roc(y, grid[findInterval(s, grid)], direction = "<")) = 0.688561502830674.
  const double area = pooled.at("auc_trapezoid").get<double>();
  EXPECT_NEAR(area, 0.688561502830674, 1e-12);
  EXPECT_NEAR(area, 0.688304168811117, 1e-3);
  // Each site's curve has its area too (R: site A exact 0.682296990977377).
  EXPECT_NEAR(model->at("sites").at("a").at("roc").at("auc_trapezoid").get<double>(),
              0.682296990977377, 2e-3);
}

// A site's answer with only the points at `keep` (indices into the grid) of its ROC, as a
// node whose release rule withheld the others sends it (node/roc_release.h).
std::string Released(const std::string& result, const std::vector<size_t>& keep) {
  json j = json::parse(result);
  json& points = j["models"][0]["roc"]["points"];
  json kept = json::array();
  for (size_t k : keep) kept.push_back(points.at(k));
  points = kept;
  return j.dump();
}

TEST(ModelEvaluationStudyTest, SitesReleasingDifferentPointsPoolOnTheCommonOnes) {
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  const std::string a = SiteResult(SiteA(), grid);
  std::vector<size_t> every_tenth, even;
  for (size_t k = 0; k <= 100; k += 10) every_tenth.push_back(k);
  for (size_t k = 0; k <= 100; k += 2) even.push_back(k);
  absl::StatusOr<json> model =
      Close(Released(a, even), SiteResult(SiteB(), stats::EvenGrid(0, 1, 10)));
  ASSERT_TRUE(model.ok()) << model.status();
  const json& pooled = model->at("pooled").at("roc");
  ASSERT_EQ(pooled.at("status"), "ok") << pooled.dump();
  // Common: 0, 0.1, ..., 1 (0.1 * k computed either way is the same double for these grids).
  ASSERT_EQ(pooled.at("points").size(), 11u);
  const json full_a = json::parse(a).at("models")[0].at("roc").at("points");
  const json b = json::parse(SiteResult(SiteB(), stats::EvenGrid(0, 1, 10)))
                     .at("models")[0]
                     .at("roc")
                     .at("points");
  for (size_t i = 0; i < 11; ++i) {
    const json& p = pooled.at("points")[i];
    EXPECT_EQ(p.at("threshold").get<double>(), grid[10 * i]);
    EXPECT_EQ(p.at("tp").get<int64_t>(),
              full_a[10 * i].at("tp").get<int64_t>() + b[i].at("tp").get<int64_t>());
    EXPECT_EQ(p.at("fp").get<int64_t>(),
              full_a[10 * i].at("fp").get<int64_t>() + b[i].at("fp").get<int64_t>());
  }
  // R (as above): sum(s >= 0.5 & y == 1) = 151, sum(s >= 0.5 & y == 0) = 99.
  EXPECT_EQ(pooled.at("points")[5].at("tp"), 151);
  EXPECT_EQ(pooled.at("points")[5].at("fp"), 99);
  // Both sites' curves released only 0 and 1 in common with a third grid: still pooled.
  model = Close(Released(a, every_tenth), Released(a, {0, 100}));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->at("pooled").at("roc").at("points").size(), 2u);
}

v1::UploadHeader Upload(const std::string& result_json) {
  v1::UploadHeader h;
  h.set_result_json(result_json);
  return h;
}

TEST(ModelEvaluationStudyTest, MalformedAnswersAreRefusedAtUploadWithTheSiteNamed) {
  std::unique_ptr<StudyLogic> logic = MakeModelEvaluationStudyLogic();
  TaskRecord task;
  task.site_id = "b";
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  const std::string good = SiteResult(SiteB(), grid);
  EXPECT_TRUE(logic->ValidateResult(task, Upload(good), nullptr, nullptr).ok());
  std::vector<json> bad;
  const json base = json::parse(good);
  auto with = [&](const std::function<void(json&)>& edit) {
    json j = base;
    edit(j["models"][0]);
    bad.push_back(j);
  };
  with([](json& m) { m["roc"]["points"][60]["tp"] = 500; });  // more than the site's events
  with([](json& m) { m["roc"]["points"] = 3; });
  with([](json& m) { m["roc"]["positives"] = "x"; });
  with([](json& m) { m["roc"]["positives"] = int64_t{1} << 62; });  // sums would overflow
  with([](json& m) { m["status"] = 1; });
  with([](json& m) { m["name"] = json::array(); });
  with([](json& m) { m["auc"]["auc"] = 1.5; });
  with([](json& m) { m["auc"]["se"] = "small"; });
  with([](json& m) { m["high_risk"]["tp"] = -1; });
  with([](json& m) { m.erase("high_risk"); });
  with([](json& m) { m["groups"] = json::array({json{{"status", "ok"}, {"counts", 4}}}); });
  bad.push_back(json{{"models", json::array({5})}});
  bad.push_back(json{{"models", json::array()}, {"split", 3}});
  for (const json& j : bad) {
    const absl::Status s = logic->ValidateResult(task, Upload(j.dump()), nullptr, nullptr);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump().substr(0, 200);
    EXPECT_NE(s.message().find("site b"), std::string::npos) << s;
  }
  // A refused model needs no figures.
  const json refused = {
      {"models", json::array({json{{"name", "m"}, {"status", "refused"}, {"reason", "few"}}})}};
  EXPECT_TRUE(logic->ValidateResult(task, Upload(refused.dump()), nullptr, nullptr).ok());
}

TEST(ModelEvaluationStudyTest, AnUnusableCurveFailsOnlyItsSitesRoc) {
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  json broken = json::parse(SiteResult(SiteB(), grid));  // stored before ValidateResult checked
  broken["models"][0]["roc"]["points"][60]["tp"] = 500;
  absl::StatusOr<json> model = Close(SiteResult(SiteA(), grid), broken.dump());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->at("pooled").contains("auc"));  // the rest of the pooling still stands
  EXPECT_EQ(model->at("sites").at("b").at("roc").at("status"), "failed");
  EXPECT_NE(model->at("sites").at("b").at("roc").at("reason").get<std::string>().find("site b"),
            std::string::npos);
  ASSERT_EQ(model->at("pooled").at("roc").at("status"), "ok");
  EXPECT_EQ(model->at("pooled").at("roc").at("sites"), 1);
  EXPECT_EQ(model->at("pooled").at("roc").at("positives"), 151);  // site a's alone
}

// The Gehan / Freireich leukaemia data (models/stats/survival_test.cc), patient i in risk group
// i / 14 (low, medium, high) and at site i % 2 ("a" even, "b" odd).
const std::vector<double> kTime = {6,  6,  6,  7,  10, 13, 16, 22, 23, 6,  9,  10, 11, 17,
                                   19, 20, 25, 32, 32, 34, 35, 1,  1,  2,  2,  3,  4,  4,
                                   5,  5,  8,  8,  8,  8,  11, 11, 12, 12, 15, 17, 22, 23};
const std::vector<double> kEvent = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

// Site `site`'s answer with its three risk groups' tables at `width` days (as a node whose
// release rule chose that width sends them) and `high_risk`, or the table withheld.
std::string SurvivalSiteResult(int site, double width,
                               std::optional<wire::ConfusionCounts> high_risk,
                               int withheld_group = -1) {
  json j = json::parse(SiteResult(site == 0 ? SiteA() : SiteB(), stats::EvenGrid(0, 1, 100)));
  absl::StatusOr<wire::EvaluationSiteAnswer> answer = wire::ParseEvaluationSiteAnswer(j.dump());
  EXPECT_TRUE(answer.ok()) << answer.status();
  wire::ModelAnswer& m = answer->models[0];
  for (int g = 0; g < 3; ++g) {
    std::vector<double> time, event;
    for (int i = 14 * g; i < 14 * (g + 1); ++i) {
      if (i % 2 != site) continue;
      time.push_back(kTime[i]);
      event.push_back(kEvent[i]);
    }
    absl::StatusOr<stats::SurvivalCounts> counts = stats::CountSurvival(time, event, width);
    EXPECT_TRUE(counts.ok()) << counts.status();
    m.groups.push_back({wire::kRiskGroups[g], "ok", "", width, *counts});
    if (g == withheld_group) m.groups.back() = {wire::kRiskGroups[g], "withheld", "below_min_cell"};
  }
  if (high_risk.has_value()) {
    m.high_risk = *high_risk;
  } else {
    m.withheld["high_risk"] = wire::kBelowMinCell;
  }
  const std::string text = wire::ToJson(*answer);
  EXPECT_TRUE(wire::ParseEvaluationSiteAnswer(text).ok());  // what ValidateResult accepts
  return text;
}

// Site a bins its survival times in 2 days, site b in 3 (each the finest its cells allowed):
// the aggregator pools on 6-day bins, onto which both coarsen exactly, and gets the curves and
// the stratified log-rank test of the pooled rows with their times rounded up to 6 days.
TEST(ModelEvaluationStudyTest, SitesWithDifferentTimeBinsPoolOnTheirCommonGrid) {
  absl::StatusOr<json> model =
      Close(SurvivalSiteResult(0, 2, wire::ConfusionCounts{0.5, 9, 3, 8, 4}),
            SurvivalSiteResult(1, 3, wire::ConfusionCounts{0.5, 5, 5, 5, 5}));
  ASSERT_TRUE(model.ok()) << model.status();
  const json& pooled = model->at("pooled");
  ASSERT_TRUE(pooled.contains("log_rank")) << pooled.dump().substr(0, 400);
  EXPECT_EQ(pooled.at("survival_bin_width"), 6);
  EXPECT_EQ(pooled.at("log_rank").at("sites"), 2);
  // By hand, product-limit on the 14 rows of each group with times rounded up to 6 days
  // (group high: 2 events at 6 of 14, 8 at 12 of 12, 2 at 18 of 4, 2 at 24 of 2; group low: 3
  // events and 1 censored at 6, 2 and 3 at 12, 2 and 1 at 18, 2 at 24).
  const std::vector<std::pair<const char*, std::vector<std::pair<double, double>>>> by_hand = {
      {"low",
       {{6, 11.0 / 14}, {12, 11.0 / 14 * 8 / 10}, {18, 11.0 / 14 * 8 / 10 * 3 / 5}, {24, 0}}},
      {"high", {{6, 12.0 / 14}, {12, 4.0 / 14}, {18, 2.0 / 14}, {24, 0}}}};
  for (const auto& [group, points] : by_hand) {
    const json& curve = pooled.at("kaplan_meier").at(group);
    EXPECT_EQ(curve.at("n"), 14);
    ASSERT_EQ(curve.at("points").size(), points.size()) << curve.dump();
    for (size_t k = 0; k < points.size(); ++k) {
      EXPECT_EQ(curve.at("points")[k][0].get<double>(), points[k].first) << group;
      EXPECT_NEAR(curve.at("points")[k][1].get<double>(), points[k].second, 1e-12) << group;
    }
  }
  // Independently, from the rows: the Kaplan-Meier of each group and the log-rank test
  // stratified by site (models/stats/log_rank.h, checked against R's survdiff) on the rows with
  // their times rounded up to 6 days; by hand (survdiff's formula, O = (9, 7, 14),
  // E = (9.4357, 10.6881, 9.8762)): chi-square 4.25005953867096 on 2 df, p 0.119429412879541.
  std::vector<double> time6;
  std::vector<int> group, site;
  for (int i = 0; i < 42; ++i) {
    time6.push_back(std::ceil(kTime[i] / 6) * 6);
    group.push_back(i / 14);
    site.push_back(i % 2);
  }
  absl::StatusOr<stats::LogRankResult> lr =
      stats::StratifiedLogRankTest(time6, kEvent, group, site);
  ASSERT_TRUE(lr.ok()) << lr.status();
  EXPECT_NEAR(lr->chi_square, 4.25005953867096, 1e-10);
  EXPECT_NEAR(pooled.at("log_rank").at("chi_square").get<double>(), lr->chi_square, 1e-10);
  EXPECT_NEAR(pooled.at("log_rank").at("p").get<double>(), 0.119429412879541, 1e-10);
  EXPECT_EQ(pooled.at("log_rank").at("df"), 2);
  const std::vector<double> medium_time(time6.begin() + 14, time6.begin() + 28);
  const std::vector<double> medium_event(kEvent.begin() + 14, kEvent.begin() + 28);
  absl::StatusOr<stats::KaplanMeierCurve> medium = stats::KaplanMeier(medium_time, medium_event);
  ASSERT_TRUE(medium.ok());
  const json& curve = pooled.at("kaplan_meier").at("medium").at("points");
  ASSERT_EQ(curve.size(), medium->points.size());
  for (size_t k = 0; k < curve.size(); ++k) {
    EXPECT_EQ(curve[k][0].get<double>(), medium->points[k].time);
    EXPECT_NEAR(curve[k][1].get<double>(), medium->points[k].survival, 1e-12);
  }
  // Confusion counts: summed over the sites that released them.
  EXPECT_EQ(pooled.at("high_risk").at("tp"), 14);
  EXPECT_EQ(pooled.at("high_risk").at("sites"), 2);
  model = Close(SurvivalSiteResult(0, 2, wire::ConfusionCounts{0.5, 9, 3, 8, 4}),
                SurvivalSiteResult(1, 3, std::nullopt));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->at("pooled").at("high_risk").at("tp"), 9);
  EXPECT_EQ(model->at("pooled").at("high_risk").at("sites"), 1);
  EXPECT_EQ(model->at("sites").at("b").at("withheld").at("high_risk"), "below_min_cell");
  EXPECT_FALSE(model->at("sites").at("b").contains("high_risk"));
}

// A site whose low-risk group has too few events to release any table of it still counts:
// that group is left out of its stratum, and the low-risk curve is the other site's.
TEST(ModelEvaluationStudyTest, AWithheldGroupIsLeftOutOfItsSitesStratumOnly) {
  const wire::ConfusionCounts high{0.5, 5, 5, 5, 5};
  absl::StatusOr<json> model =
      Close(SurvivalSiteResult(0, 2, high), SurvivalSiteResult(1, 3, high, /*withheld_group=*/0));
  ASSERT_TRUE(model.ok()) << model.status();
  const json& pooled = model->at("pooled");
  ASSERT_TRUE(pooled.contains("log_rank")) << pooled.dump().substr(0, 400);
  EXPECT_EQ(pooled.at("log_rank").at("sites"), 2);
  EXPECT_EQ(pooled.at("log_rank").at("df"), 2);
  // The rows the sites released, times rounded up to the common 6 days.
  std::vector<double> time6, event, low_time, low_event;
  std::vector<int> group, site;
  for (int i = 0; i < 42; ++i) {
    if (i / 14 == 0 && i % 2 == 1) continue;  // site b's low-risk group
    time6.push_back(std::ceil(kTime[i] / 6) * 6);
    event.push_back(kEvent[i]);
    group.push_back(i / 14);
    site.push_back(i % 2);
    if (i / 14 == 0) {
      low_time.push_back(time6.back());
      low_event.push_back(kEvent[i]);
    }
  }
  absl::StatusOr<stats::LogRankResult> lr = stats::StratifiedLogRankTest(time6, event, group, site);
  ASSERT_TRUE(lr.ok()) << lr.status();
  EXPECT_NEAR(pooled.at("log_rank").at("chi_square").get<double>(), lr->chi_square, 1e-10);
  absl::StatusOr<stats::KaplanMeierCurve> low = stats::KaplanMeier(low_time, low_event);
  ASSERT_TRUE(low.ok());
  const json& curve = pooled.at("kaplan_meier").at("low");
  EXPECT_EQ(curve.at("n"), 7);
  ASSERT_EQ(curve.at("points").size(), low->points.size());
  for (size_t k = 0; k < low->points.size(); ++k) {
    EXPECT_NEAR(curve.at("points")[k][1].get<double>(), low->points[k].survival, 1e-12);
  }
  // Both sites withhold it: the test is between medium and high, the low curve empty.
  model = Close(SurvivalSiteResult(0, 2, high, 0), SurvivalSiteResult(1, 3, high, 0));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->at("pooled").at("log_rank").at("df"), 1);
  EXPECT_EQ(model->at("pooled").at("kaplan_meier").at("low").at("n"), 0);
  // Only one group anywhere: no test, and the reason.
  json only_high = json::parse(SurvivalSiteResult(0, 2, high, 0));
  only_high["models"][0]["groups"][1] = {{"group", "medium"}, {"status", "refused"}};
  model = Close(only_high.dump(), only_high.dump());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE(model->at("pooled").contains("log_rank"));
  EXPECT_NE(model->at("pooled").at("survival_error").get<std::string>().find("two risk groups"),
            std::string::npos);
}

// Widths with no common grid within wire::kMaxSurvivalBinWidth: the pooled survival is refused
// with its reason, and the rest of the study stands.
TEST(ModelEvaluationStudyTest, SurvivalWithoutACommonGridIsRefusedCleanly) {
  const auto with_width = [](int site, double width) {
    json j = json::parse(SurvivalSiteResult(site, 1, wire::ConfusionCounts{0.5, 5, 5, 5, 5}));
    for (json& g : j["models"][0]["groups"]) {
      g["bin_width"] = width;
      g["counts"] = {{"times", {width}}, {"at_risk", {5}}, {"events", {2}}, {"censored", {3}}};
    }
    return j.dump();
  };
  absl::StatusOr<json> model = Close(with_width(0, 1000), with_width(1, 999));
  ASSERT_TRUE(model.ok()) << model.status();
  const json& pooled = model->at("pooled");
  EXPECT_FALSE(pooled.contains("log_rank"));
  EXPECT_NE(pooled.at("survival_error").get<std::string>().find("common multiple"),
            std::string::npos)
      << pooled.dump();
  EXPECT_TRUE(pooled.contains("auc"));
  // The same tables at one width pool.
  model = Close(with_width(0, 1000), with_width(1, 1000));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->at("pooled").at("survival_bin_width"), 1000);
  EXPECT_FALSE(model->at("pooled").contains("survival_error"));
}

// A malformed spec is refused when the study is created, naming the field; the logic keeps the
// parsed spec (its outcome is the combined result's).
TEST(ModelEvaluationStudyTest, MalformedSpecIsRefusedAtCreation) {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  wire::EvaluationSpec bad = Spec();
  bad.models[0].kind = "logistic";  // without features or coefficients
  spec.set_spec_json(wire::ToJson(bad));
  absl::StatusOr<std::unique_ptr<StudyLogic>> logic = CreateStudyLogic(spec);
  EXPECT_EQ(logic.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(logic.status().message().find("model 'm': features"), std::string::npos)
      << logic.status();
  spec.set_spec_json(R"({"analysis": "model_evaluation", "models": []})");
  EXPECT_EQ(CreateStudyLogic(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::aggregator
