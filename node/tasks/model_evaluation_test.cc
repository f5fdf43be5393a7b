#include "node/tasks/model_evaluation.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/survival_counts.h"
#include "node/tasks/registry.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::node {
namespace {

using nlohmann::json;

// 24 patients aged 40, 42, ..., 86 (patient i: age 40 + 2i), every other input missing;
// 13 events, 11 non-events.
const int kOutcome[24] = {0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1};

class AgesOnly : public DatasetSource {
 public:
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override {
    TabularRows rows;
    rows.columns = variables;
    for (int i = 0; i < 24; ++i) {
      rows.keys.push_back("p" + std::to_string(i));
      for (const std::string& v : variables) {
        // A CT feature computed at import (not an admission variable): falls as age rises.
        rows.x.push_back(v == "age"                         ? 40.0 + 2 * i
                         : v == "well_aerated_lung_percent" ? 90.0 - i
                                                            : NAN);
      }
      rows.y.push_back(kOutcome[i]);
    }
    return rows;
  }
};

v1::Task Task(const std::string& spec_json) {
  v1::Task t;
  t.set_kind(v1::TASK_KIND_ANALYZE);
  t.set_spec_json(spec_json);
  return t;
}
v1::Task Task(const json& spec) { return Task(spec.dump()); }
v1::Task Task(const wire::EvaluationSpec& spec) { return Task(wire::ToJson(spec)); }

// p = 1 / (1 + exp(-(-6.3 + 0.1 age))): p >= t exactly when age >= 63 + 10 logit(t).
wire::EvaluatedModel AgeModel() {
  wire::EvaluatedModel m;
  m.name = "age";
  m.kind = "logistic";
  m.features = json::array({"age"});
  m.coefficients = {-6.3, 0.1};
  m.low = 0.25;
  m.high = 0.5;
  return m;
}

// A model on a CT feature computed at import: falls as age rises.
wire::EvaluatedModel CtModel() {
  wire::EvaluatedModel m = AgeModel();
  m.name = "ct";
  m.features = json::array({{{"name", "well_aerated_lung_percent"}}});
  m.coefficients = {3.0, -0.05};
  return m;
}

wire::EvaluatedModel Score(const std::string& name, const std::string& kind) {
  wire::EvaluatedModel m;
  m.name = name;
  m.kind = kind;
  return m;
}

wire::EvaluationSpec Spec(std::vector<wire::EvaluatedModel> models, int min_cell_count = 0) {
  wire::EvaluationSpec spec;
  spec.outcome = "severe";
  spec.models = std::move(models);
  spec.min_cell_count = min_cell_count;
  return spec;
}

std::map<std::string, json> Models(const TaskOutcome& out) {
  const json parsed = json::parse(out.result_json);
  std::map<std::string, json> models;
  for (const json& m : parsed.at("models")) models[m.at("name").get<std::string>()] = m;
  return models;
}

// (tp, fp) at threshold index k of a model's ROC.
std::pair<int64_t, int64_t> At(const json& model, size_t k) {
  const json& p = model.at("roc").at("points").at(k);
  return {p.at("tp").get<int64_t>(), p.at("fp").get<int64_t>()};
}

// A policy that releases every grid point (no bin is too small for a minimum of 1), to check
// the counting itself; ReleasedRocWithholdsSmallBins checks the rule.
privacy::ReleasePolicy EveryPoint() {
  privacy::ReleasePolicy p;
  p.min_cell_count = 1;
  return p;
}

TEST(ModelEvaluationTest, RocCountsAtTheFixedDefaultGrids) {
  AgesOnly source;
  const wire::EvaluationSpec spec = Spec({AgeModel(), Score("CURB-65", "curb65")});
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, EveryPoint(), "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  std::map<std::string, json> models = Models(*out);
  const json& age = models.at("age");
  ASSERT_EQ(age.at("status"), "ok") << age.dump();
  EXPECT_EQ(age.at("roc").at("positives"), 13);
  EXPECT_EQ(age.at("roc").at("negatives"), 11);
  ASSERT_EQ(age.at("roc").at("points").size(), 101u);
  for (size_t k = 0; k <= 100; ++k) {  // the thresholds are the grid, not the patients' scores
    EXPECT_EQ(age.at("roc").at("points")[k].at("threshold").get<double>(), k / 100.0);
  }
  // By hand from the ages: t = 0.25 -> age >= 52.01 (patients 7..23), t = 0.5 -> age >= 63
  // (12..23), t = 0.9 -> age >= 84.97 (patient 23 only).
  EXPECT_EQ(At(age, 0), std::make_pair(int64_t{13}, int64_t{11}));
  EXPECT_EQ(At(age, 25), std::make_pair(int64_t{11}, int64_t{6}));
  EXPECT_EQ(At(age, 50), std::make_pair(int64_t{9}, int64_t{3}));
  EXPECT_EQ(At(age, 90), std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(At(age, 100), std::make_pair(int64_t{0}, int64_t{0}));
  // CURB-65 with only the age known: 1 point at age >= 65 (patients 13..23); grid 0..5.
  const json& curb = models.at("CURB-65");
  ASSERT_EQ(curb.at("status"), "ok") << curb.dump();
  ASSERT_EQ(curb.at("roc").at("points").size(), 6u);
  EXPECT_EQ(curb.at("roc").at("points")[5].at("threshold"), 5.0);
  EXPECT_EQ(At(curb, 0), std::make_pair(int64_t{13}, int64_t{11}));
  EXPECT_EQ(At(curb, 1), std::make_pair(int64_t{8}, int64_t{3}));
  for (size_t k = 2; k < 6; ++k) EXPECT_EQ(At(curb, k), std::make_pair(int64_t{0}, int64_t{0}));
}

// A fitted model on a CT feature the node computed at import is evaluated like one on
// admission variables (the column is loaded for it): the same ranking as age, the same AUC.
TEST(ModelEvaluationTest, LogisticModelOnACtFeature) {
  AgesOnly source;
  const wire::EvaluationSpec spec = Spec({AgeModel(), CtModel()});
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, EveryPoint(), "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  std::map<std::string, json> models = Models(*out);
  ASSERT_EQ(models.at("ct").at("status"), "ok") << models.at("ct").dump();
  EXPECT_EQ(models.at("ct").at("n_not_computable"), 0);
  // AUC and DeLong SE depend on the ranking only.
  EXPECT_EQ(models.at("ct").at("auc"), models.at("age").at("auc"));
}

TEST(ModelEvaluationTest, StudyChosenGridAndItsLimits) {
  AgesOnly source;
  wire::EvaluatedModel model = AgeModel();
  model.roc_grid = {0.25, 0.5, 0.9};
  absl::StatusOr<TaskOutcome> out =
      RunModelEvaluation(Task(Spec({model})), source, EveryPoint(), "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json age = Models(*out).at("age");
  ASSERT_EQ(age.at("roc").at("points").size(), 3u);
  EXPECT_EQ(At(age, 0), std::make_pair(int64_t{11}, int64_t{6}));
  EXPECT_EQ(At(age, 2), std::make_pair(int64_t{1}, int64_t{0}));

  // A grid the study may not ask for is refused as the spec is read (protocol/wire).
  json spec = json::parse(wire::ToJson(Spec({model})));
  for (const json& bad : {json::array(), json{0.5, 0.25}, json{0.5, 0.5}, json{"0.5"}, json(0.5)}) {
    spec["models"][0]["roc_grid"] = bad;
    EXPECT_EQ(RunModelEvaluation(Task(spec), source, {}, "kb").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.dump();
  }
  // Finer than 101 thresholds would come close to releasing each patient's score.
  std::vector<double> fine;
  for (int k = 0; k <= 1000; ++k) fine.push_back(k / 1000.0);
  spec["models"][0]["roc_grid"] = fine;
  EXPECT_EQ(RunModelEvaluation(Task(spec), source, {}, "kb").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ModelEvaluationTest, ReleasedRocWithholdsSmallBins) {
  AgesOnly source;
  const wire::EvaluationSpec spec = Spec({AgeModel()}, 3);
  privacy::ReleasePolicy three;
  three.min_cell_count = 3;
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, three, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json age = Models(*out).at("age");
  ASSERT_EQ(age.at("status"), "ok") << age.dump();
  // By hand from the ages (p >= t when age >= 63 + 10 logit(t)), the full curve's (tp, fp):
  // t = 0.00-0.09 (13, 11); 0.10 (13, 10): patient 0 alone, a non-event, would be pinned to a
  // score in [0.09, 0.10); 0.11-0.13 (13, 9); 0.14-0.15 (13, 8); 0.16-0.18 (12, 8); ...;
  // 0.38-0.42 (10, 4); 0.43-0.47 (10, 3); 0.48-0.52 (9, 3); 0.53-0.57 (8, 3); ...;
  // 0.85-0.86 (3, 0); 0.87-0.89 (2, 0); 0.90 (1, 0); 0.91-1.00 (0, 0). The high-risk threshold
  // 0.5 releases its confusion counts (tp 9, fp 3, fn 4, tn 8: each >= 3), so it is an anchor
  // of the walk (node/tasks/roc_release.h): 0.38-0.42, which the walk alone would release
  // (before the anchor, they were), would differ from it by one event and one non-event, and
  // are withheld. Walking up with bins of 0 or >= 3 events and non-events: 0.00-0.09, then
  // 0.14-0.15 (0 and 3 from (13, 11)), the anchor 0.50 (4 and 5), 0.51-0.52 (0, 0), 0.85-0.86
  // (6 and 3), 0.91-1.00 (3 and 0).
  std::vector<double> expected;
  for (int k : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 50, 51, 52, 85, 86}) {
    expected.push_back(k / 100.0);
  }
  for (int k = 91; k <= 100; ++k) expected.push_back(k / 100.0);
  std::vector<double> released;
  for (const json& p : age.at("roc").at("points")) released.push_back(p.at("threshold"));
  EXPECT_EQ(released, expected);
  EXPECT_EQ(At(age, 10), std::make_pair(int64_t{13}, int64_t{8}));
  EXPECT_EQ(At(age, 12), std::make_pair(int64_t{9}, int64_t{3}));
  EXPECT_EQ(At(age, 15), std::make_pair(int64_t{3}, int64_t{0}));
  const json& high = age.at("high_risk");  // the same counts as the anchor's point
  EXPECT_EQ(high.at("tp"), 9);
  EXPECT_EQ(high.at("fp"), 3);
  EXPECT_EQ(high.at("fn"), 4);
  EXPECT_EQ(high.at("tn"), 8);
  EXPECT_EQ(age.at("roc").at("positives"), 13);  // the totals stand: both reach the minimum
  EXPECT_EQ(age.at("roc").at("negatives"), 11);
}

// The attack (issue 12): the coordinator supplies the model and its thresholds, and puts the
// high-risk threshold where one patient lies above it (p >= 0.9: age >= 84.97, patient 23, an
// event). Its confusion cells are (tp 1, fp 0, tn 11, fn 12): the site withholds them with a
// reason code instead of releasing a "group" that is one patient's outcome. The rest of the
// model's figures stand, and no released ROC point isolates the patient either.
TEST(ModelEvaluationTest, ConfusionCountsIsolatingAPatientAreWithheld) {
  AgesOnly source;
  privacy::ReleasePolicy three;
  three.min_cell_count = 3;
  wire::EvaluatedModel attack = AgeModel();
  attack.high = 0.9;
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(Spec({attack})), source, three, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json age = Models(*out).at("age");
  ASSERT_EQ(age.at("status"), "ok") << age.dump();
  EXPECT_FALSE(age.contains("high_risk")) << age.dump();
  EXPECT_EQ(age.at("withheld").at("high_risk"), "below_min_cell");
  for (const json& p : age.at("roc").at("points")) {
    for (const char* cell : {"tp", "fp"}) {
      const int64_t c = p.at(cell).get<int64_t>();
      EXPECT_TRUE(c == 0 || c >= 3) << p.dump();
    }
  }
  // The aggregator accepts the answer without the table.
  EXPECT_TRUE(wire::ParseEvaluationSiteAnswer(out->result_json).ok());
  // Just below the patient's score (p >= 0.85: patients 21..23), the cells are (3, 0, 11, 10):
  // released.
  attack.high = 0.85;
  out = RunModelEvaluation(Task(Spec({attack})), source, three, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json honest = Models(*out).at("age");
  ASSERT_TRUE(honest.contains("high_risk")) << honest.dump();
  EXPECT_EQ(honest.at("high_risk").at("tp"), 3);
  EXPECT_EQ(honest.at("high_risk").at("fp"), 0);
  EXPECT_FALSE(honest.contains("withheld"));
}

// AgesOnly with a time to event: patient i's at 1 + 0.9 i days (each on a day of its own), the
// event its outcome.
class AgesAndSurvival : public DatasetSource {
 public:
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override {
    TabularRows rows;
    rows.columns = variables;
    for (int i = 0; i < 24; ++i) {
      rows.keys.push_back("p" + std::to_string(i));
      for (const std::string& v : variables) {
        rows.x.push_back(v == "age"                  ? 40.0 + 2 * i
                         : v == "time_to_event_days" ? 1 + 0.9 * i
                         : v == "event"              ? kOutcome[i]
                                                     : NAN);
      }
      rows.y.push_back(kOutcome[i]);
    }
    return rows;
  }
};

// Kaplan-Meier counts at 1-day resolution would put every patient in a bin of their own (a
// cell of 1 gives that patient's event day): the site coarsens each risk group's bins until
// every cell is 0 or at least the minimum, and says which width it chose.
TEST(ModelEvaluationTest, SurvivalTablesAreCoarsenedUntilEveryCellPasses) {
  AgesAndSurvival source;
  wire::EvaluationSpec spec = Spec({AgeModel()});
  spec.survival_time = "time_to_event_days";
  spec.survival_event = "event";
  privacy::ReleasePolicy two;
  two.min_cell_count = 2;
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, two, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json age = Models(*out).at("age");
  ASSERT_EQ(age.at("groups").size(), 3u) << age.dump();
  // By hand: low (p < 0.25: patients 0-6, days 1-6.4, 2 events) holds one patient per day, in
  // 2- and 3-day bins a bin with 1 event, in weeks 7 at day 7 (2 events, 5 censored); medium
  // (7-11, days 7.3-10.9) likewise, all at day 14 (2 events, 3 censored); high (12-23, days
  // 11.8-21.7) splits 2 events and 1 censored into its first week and fortnight: 28 days.
  const std::vector<double> widths = {7, 7, 28};
  for (size_t g = 0; g < 3; ++g) {
    const json& group = age.at("groups")[g];
    ASSERT_EQ(group.at("status"), "ok") << group.dump();
    EXPECT_EQ(group.at("bin_width"), widths[g]) << group.dump();
    for (const char* column : {"at_risk", "events", "censored"}) {
      for (const json& c : group.at("counts").at(column)) {
        EXPECT_TRUE(c == 0 || c >= 2) << group.dump();
      }
    }
  }
  EXPECT_EQ(age.at("groups")[0].at("counts").at("times"), json::array({7.0}));
  EXPECT_EQ(age.at("groups")[0].at("counts").at("events"), json::array({2}));
  EXPECT_EQ(age.at("groups")[2].at("counts").at("at_risk"), json::array({12}));
  EXPECT_TRUE(wire::ParseEvaluationSiteAnswer(out->result_json).ok());
  // The tables at 1-day resolution, as the site released them before: a cell of 1 in each.
  for (int first : {0, 7, 12}) {
    std::vector<double> t, e;
    for (int i = first; i < (first == 0 ? 7 : first == 7 ? 12 : 24); ++i) {
      t.push_back(1 + 0.9 * i);
      e.push_back(kOutcome[i]);
    }
    absl::StatusOr<stats::SurvivalCounts> daily = stats::CountSurvival(t, e, 1.0);
    ASSERT_TRUE(daily.ok());
    EXPECT_NE(std::find(daily->at_risk.begin(), daily->at_risk.end(), 1), daily->at_risk.end());
  }
  // With a minimum of 3 the low group's 2 events fail at every width: that table is withheld.
  privacy::ReleasePolicy three;
  three.min_cell_count = 3;
  out = RunModelEvaluation(Task(spec), source, three, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json low = Models(*out).at("age").at("groups")[0];
  EXPECT_EQ(low.at("status"), "withheld");
  EXPECT_EQ(low.at("reason"), "below_min_cell");
  EXPECT_FALSE(low.contains("counts"));
}

// A paired comparison's patient count is a count too: below the minimum it is withheld, and the
// refusal carries the reason code.
TEST(ModelEvaluationTest, ComparisonCountBelowTheMinimumIsWithheld) {
  AgesOnly source;
  wire::EvaluationSpec spec = Spec({AgeModel(), CtModel()});
  spec.compare = {{"age", "ct"}};
  privacy::ReleasePolicy policy;
  policy.min_cell_count = 25;  // 24 patients, both models score all of them
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, policy, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json c = json::parse(out->result_json).at("comparisons").at(0);
  EXPECT_EQ(c.at("status"), "refused");
  EXPECT_EQ(c.at("reason"), "below_min_cell");
  EXPECT_FALSE(c.contains("n")) << c.dump();
  EXPECT_EQ(c.at("withheld").at("n"), "below_min_cell");
  policy.min_cell_count = 3;
  out = RunModelEvaluation(Task(spec), source, policy, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(json::parse(out->result_json).at("comparisons").at(0).at("n"), 24);
}

TEST(ModelEvaluationTest, RefusedModelReleasesNoRoc) {
  AgesOnly source;
  const wire::EvaluationSpec spec = Spec({AgeModel()});
  privacy::ReleasePolicy strict;
  strict.min_cell_count = 12;  // 11 non-events
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, strict, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  const json age = Models(*out).at("age");
  EXPECT_EQ(age.at("status"), "refused");
  EXPECT_FALSE(age.contains("roc"));
}

// A site that releases age only: the model on age is evaluated, the model on a CT feature is
// refused naming it, and the site's data is never even read for the variables it keeps back.
TEST(ModelEvaluationTest, VariablesTheSiteKeepsBackAreNeitherLoadedNorUsed) {
  class Recording : public AgesOnly {
   public:
    absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                     const std::string& outcome) override {
      asked.insert(variables.begin(), variables.end());
      return AgesOnly::Load(variables, outcome);
    }
    std::set<std::string> asked;
  } source;
  wire::EvaluatedModel curb = Score("CURB-65", "curb65");
  curb.low = 2;
  curb.high = 3;
  const wire::EvaluationSpec spec = Spec({AgeModel(), CtModel(), curb});
  privacy::ReleasePolicy policy = EveryPoint();
  policy.allowed_variables = {"age"};
  absl::StatusOr<TaskOutcome> out = RunModelEvaluation(Task(spec), source, policy, "kb");
  ASSERT_TRUE(out.ok()) << out.status();
  std::map<std::string, json> models = Models(*out);
  EXPECT_EQ(models.at("age").at("status"), "ok");
  EXPECT_EQ(models.at("ct").at("status"), "refused");
  EXPECT_EQ(models.at("ct").at("reason"),
            "variable well_aerated_lung_percent is not released by this site");
  EXPECT_FALSE(models.at("ct").contains("roc"));
  // CURB-65 is scored from what the site releases, its other items missing (scored by the
  // score's own missing-input rule, models/scores/curb65.h): nothing about them is read.
  EXPECT_EQ(models.at("CURB-65").at("status"), "ok");
  EXPECT_EQ(source.asked, std::set<std::string>{"age"});
}

// What a task declares comes from its spec alone: each score's inputs among the admission
// variables (CURB-65's confusion is not one), the fitted models' features, the survival fields.
TEST(ModelEvaluationTest, DeclaresWhatItsModelsRead) {
  wire::EvaluationSpec spec = Spec({Score("CURB-65", "curb65"), AgeModel(), CtModel()}, 5);
  spec.survival_time = "time_to_event_days";
  spec.survival_event = "event";
  const std::vector<std::string> expected = {
      "urea", "respiratory_rate",          "systolic_bp",        "diastolic_bp",
      "age",  "well_aerated_lung_percent", "time_to_event_days", "event"};
  absl::StatusOr<std::vector<std::string>> variables = EvaluationVariables(spec);
  ASSERT_TRUE(variables.ok()) << variables.status();
  EXPECT_EQ(*variables, expected);

  NodeContext context;
  TaskPlugins plugins = MakePlainTasks(context);
  TaskPlugin& plugin = *plugins.at(protocol::StudyKind::model_evaluation);
  absl::StatusOr<TaskDeclaration> d = plugin.Declare(Task(spec));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->variables, expected);
  EXPECT_EQ(d->outcome, "severe");
  EXPECT_EQ(d->requested_min_cell_count, 5);
  EXPECT_FALSE(d->releases_weights);
  // The published model's terms; an unknown published model is refused before anything is read.
  wire::EvaluatedModel scancov = Score("ScanCov", "published");
  scancov.model = "scancov_released";
  variables = EvaluationVariables(Spec({scancov}));
  ASSERT_TRUE(variables.ok()) << variables.status();
  EXPECT_NE(std::find(variables->begin(), variables->end(), "platelets"), variables->end());
  scancov.model = "no_such_model";
  EXPECT_FALSE(plugin.Declare(Task(Spec({scancov}))).ok());
  EXPECT_EQ(
      plugin.Declare(Task(std::string(R"({"outcome": "severe", "models": []})"))).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::node
