// The model_selection wire module's structs. The requests' tensors and the answers' checks
// against a request, with a site's genuine answers, are tested with the selection itself
// (models/scores/federated_selection_test.cc).
#include "protocol/wire/model_selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace scancov::wire {
namespace {

using nlohmann::json;
using scores::SelectionRequest;
using ::testing::HasSubstr;

SelectionSpec Spec() {
  SelectionSpec s;
  s.outcome = "severe";
  s.variables = {"age", "spo2", "ldh"};
  s.options.penalty_grid = {0.01, 1, 100};
  s.options.seed = 7;
  s.options.initial_variables = {"age"};
  s.min_cell_count = 10;
  return s;
}

TEST(ModelSelectionWireTest, SpecRoundTrip) {
  const SelectionSpec spec = Spec();
  absl::StatusOr<SelectionSpec> back = ParseSelectionSpec(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(spec));
  EXPECT_EQ(back->options.initial_variables, std::vector<std::string>{"age"});
  const SelectionShape shape = ShapeOf(*back);
  EXPECT_EQ(shape.parts, 6);  // 5 folds + all rows
  EXPECT_EQ(shape.width, 3);
}

TEST(ModelSelectionWireTest, EverySpecBoundIsRefusedNamingTheField) {
  const std::string v = R"("outcome": "severe", "variables": ["age", "spo2"])";
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {R"({"analysis": "logistic_regression", )" + v + "}", "'analysis'"},
           {R"({"variables": ["age"]})", "'outcome' is required"},
           {R"({"outcome": "severe"})", "'variables' needs 1..64 names"},
           {R"({"outcome": "severe", "variables": ["age", "age"]})", "duplicate"},
           {R"({"outcome": "severe", "variables": [3]})", "'variables' must hold names"},
           {"{" + v + R"(, "penalty_grid": []})", "'penalty_grid' needs 1..16 values"},
           {"{" + v + R"(, "penalty_grid": [0]})", "penalties must be > 0"},
           {"{" + v + R"(, "folds": 11})", "'folds' must be an integer in [2, 10]"},
           {"{" + v + R"(, "age_bins": 0})", "'age_bins'"},
           {"{" + v + R"(, "max_variables": 21})", "'max_variables'"},
           {"{" + v + R"(, "min_observed": 0})", "'min_observed'"},
           {"{" + v + R"(, "min_auc_gain": 2})", "'min_auc_gain'"},
           {"{" + v + R"(, "seed": -1.5})", "'seed'"},
           {"{" + v + R"(, "age_variable": 3})", "'age_variable'"},
           {"{" + v + R"(, "initial_variables": ["ldh"]})", "initial variable ldh"},
           {"{" + v + R"(, "min_cell_count": 1000001})", "'min_cell_count'"}}) {
    const absl::Status s = ParseSelectionSpec(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
    EXPECT_THAT(s.message(), HasSubstr("spec_json")) << text;
  }
}

SelectionSiteAnswer Sums() {
  SelectionSiteAnswer a;
  a.aggregates.kind = SelectionRequest::Kind::kSums;
  for (int p = 0; p < 3; ++p) a.aggregates.moments.push_back({100, {90, 80}, {5400.0, 7600.0}});
  a.suppressed = {"ldh"};
  return a;
}

SelectionSiteAnswer Fits() {
  SelectionSiteAnswer a;
  a.aggregates.kind = SelectionRequest::Kind::kFits;
  scores::ModelSiteResult r;
  r.summary.beta = {0.1, -0.2};
  r.summary.gradient = {0.5, 0.25};
  r.summary.information = {4, 1, 1, 3};
  r.summary.log_likelihood = -50;
  r.summary.weight_sum = 80;
  r.summary.num_observations = 80;
  r.summary.num_events = 20;
  r.auc = 0.71;
  r.pairs = 1200;
  a.aggregates.models = {r};
  return a;
}

TEST(ModelSelectionWireTest, SiteAnswersRoundTrip) {
  SelectionSiteAnswer refused;
  refused.refused = true;
  refused.reason = "variable ldh is not released by this site";
  for (const SelectionSiteAnswer& a : {Sums(), Fits(), refused}) {
    absl::StatusOr<SelectionSiteAnswer> back = ParseSelectionSiteAnswer(ToJson(a));
    ASSERT_TRUE(back.ok()) << back.status() << ToJson(a);
    EXPECT_EQ(ToJson(*back), ToJson(a));
  }
  const json j = json::parse(ToJson(Sums()));
  EXPECT_EQ(j.at("kind"), "sums");
  EXPECT_EQ(j.at("status"), "ok");
  EXPECT_EQ(j.at("suppressed"), json::array({"ldh"}));
  // The pooled answers the aggregator keeps: the same aggregates without status.
  absl::StatusOr<SelectionAggregates> pooled =
      AggregatesFromJson(AggregatesToJson(Fits().aggregates));
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_EQ(pooled->models[0].pairs, 1200);
}

TEST(ModelSelectionWireTest, MalformedAnswersAreRefusedNamingTheField) {
  const json sums = json::parse(ToJson(Sums()));
  const json fits = json::parse(ToJson(Fits()));
  const auto edit = [](json j, const std::function<void(json&)>& f) {
    f(j);
    return j.dump();
  };
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {R"({"status": "maybe"})", R"('status' must be "ok" or "refused")"},
           {R"({"status": "refused", "reason": 42})", "'reason' must be a string"},
           {edit(sums, [](json& j) { j["kind"] = "everything"; }), "'kind' must be"},
           {edit(sums, [](json& j) { j.erase("moments"); }), "'moments' missing"},
           {edit(sums, [](json& j) { j["moments"][0]["rows"] = 1.5; }), "must be integers"},
           {edit(sums, [](json& j) { j["suppressed"] = {3}; }), "'suppressed'"},
           {edit(fits, [](json& j) { j.erase("models"); }), "'models' missing"},
           {edit(fits, [](json& j) { j["models"][0]["auc"] = "x"; }), "malformed"},
           {edit(fits, [](json& j) { j["models"][0]["summary"]["num_events"] = 2.5; }),
            "'num_events' must be an integer"}}) {
    const absl::Status s = ParseSelectionSiteAnswer(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
    EXPECT_THAT(s.message(), HasSubstr("result_json")) << text;
  }
  // Ranges are checked against the round's request.
  SelectionRequest asked;
  asked.kind = SelectionRequest::Kind::kSquares;
  EXPECT_THAT(CheckAnswer(Sums().aggregates, asked, {3, 2}).message(),
              HasSubstr(R"('kind' must be "squares")"));
  EXPECT_TRUE(CheckAnswer(Sums().aggregates, SelectionRequest{}, {3, 2}).ok());
  EXPECT_THAT(CheckAnswer(Sums().aggregates, SelectionRequest{}, {4, 2}).message(),
              HasSubstr("'moments' must have 4 parts"));
}

SelectionRoundResult Finished() {
  SelectionRoundResult r;
  r.stage = "final";
  r.models = 6;
  r.sites = {"hegp", "kb"};
  r.refused = {{"tiny", "fewer than 10 events or non-events"}};
  r.rejected = {{"igr", "model selection: result_json: 'moments' must have 6 parts"}};
  SelectionOutcome o;
  o.outcome = "severe";
  o.rounds = 37;
  scores::FederatedSelection& f = o.selection;
  f.variables = {"age", "spo2"};
  f.standardization.means = Eigen::Vector2d(61.5, 93.0);
  f.standardization.scales = Eigen::Vector2d(15.5, 4.0);
  f.coefficients = Eigen::Vector2d(0.6, -0.8);
  f.intercept = -1.1;
  f.penalty = 1.0;
  f.cv_auc = 0.74;
  f.path = {{"spo2", 0.7, 1.0}, {"age", 0.74, 1.0}};
  f.rejected = scores::SelectionStep{"ldh", 0.741, 1.0};
  f.dropped_sparse = {"procalcitonin"};
  f.num_observations = 1500;
  f.num_events = 400;
  r.selection = o;
  return r;
}

TEST(ModelSelectionWireTest, RoundResultsRoundTrip) {
  SelectionRoundResult step;
  step.stage = "step 1";
  step.models = 45;
  step.sites = {"kb"};
  absl::StatusOr<SelectionRoundResult> back = ParseSelectionRoundResult(ToJson(step));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(step));
  EXPECT_FALSE(back->selection.has_value());

  back = ParseSelectionRoundResult(ToJson(Finished()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(Finished()));
  EXPECT_EQ(back->selection->selection.rejected->variable, "ldh");
  const json j = json::parse(ToJson(Finished()));
  EXPECT_EQ(j.at("selection").at("final").at("variables")[1].at("coefficient"), -0.8);
  EXPECT_TRUE(json::parse(ToJson(step)).at("refused").is_array());
  SelectionRoundResult no_elbow = Finished();
  no_elbow.selection->selection.rejected.reset();
  EXPECT_TRUE(json::parse(ToJson(no_elbow)).at("selection").at("rejected").is_null());
}

TEST(ModelSelectionWireTest, MalformedRoundResultsAreRefused) {
  const json good = json::parse(ToJson(Finished()));
  const auto edit = [&](const std::function<void(json&)>& f) {
    json j = good;
    f(j);
    return j.dump();
  };
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"17", "not a JSON object"},
           {edit([](json& j) { j["stage"] = 3; }), "stage must be a string"},
           {edit([](json& j) { j["models"] = -1; }), "models must be an integer"},
           {edit([](json& j) { j["sites"] = "kb"; }), "sites must be a list"},
           {edit([](json& j) { j["refused"] = {1}; }), "refused: an entry is not an object"},
           {edit([](json& j) { j["selection"].erase("final"); }), "final is required"},
           {edit([](json& j) { j["selection"]["steps"][0].erase("variable"); }),
            "steps[0]: variable is required"},
           {edit([](json& j) { j["selection"]["final"]["variables"][0].erase("name"); }),
            "final.variables[0]: name is required"},
           {edit([](json& j) { j["selection"]["final"]["variables"][1]["scale"] = "x"; }),
            "scale must be a finite number"},
           {edit([](json& j) { j["selection"]["final"]["events"] = 1501; }),
            "events must be an integer in 0..1500"}}) {
    const absl::Status s = ParseSelectionRoundResult(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(field)) << text;
  }
}

}  // namespace
}  // namespace scancov::wire
