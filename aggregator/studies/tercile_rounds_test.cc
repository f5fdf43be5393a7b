#include "aggregator/studies/tercile_rounds.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;
using wire::kTercileCandidates;

protocol::TensorSet TercileCheckpoint(const std::vector<double>& beta,
                                      const std::vector<double>& candidates) {
  return wire::ToTensors(wire::LogisticCheckpoint{beta, candidates});
}

wire::LogisticSpec Spec() {
  wire::LogisticSpec spec;
  spec.outcome = "severe";
  spec.features = {{"age"}};
  return spec;
}

// Three sites' training linear predictors (30 rows, a tie, two beyond [-30, 30]).
const std::vector<std::vector<double>> kEta = {
    {-2.31, 0.47, -1.05, 3.92, -0.66, 1.18, -41.5, 0.47, 2.05, -1.87, 0.12},
    {-0.93, 1.64, 0.47, -3.4, 2.71, -0.21, 0.88},
    {37.2, -1.22, 0.05, 1.01, -0.48, 2.39, -2.76, 0.66, -0.07, 1.33, -1.51, 0.29}};

StudyRecord Study() {
  StudyRecord study;
  study.study_id = "refit";
  study.spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  study.spec.set_spec_json(wire::ToJson(Spec()));
  return study;
}

// The study's logic, as the aggregator creates it from the spec.
std::unique_ptr<StudyLogic> MakeLogisticStudyLogic() {
  absl::StatusOr<std::unique_ptr<StudyLogic>> logic = CreateStudyLogic(Study().spec);
  EXPECT_TRUE(logic.ok()) << logic.status();
  return logic.ok() ? std::move(*logic) : nullptr;
}

// The converged Newton round, as the terciles rounds find it in the history.
RoundRecord ConvergedRound(int64_t n) {
  RoundRecord r;
  r.round = 6;
  wire::LogisticRoundResult converged;
  converged.sites = 3;
  converged.pooled_summary.beta = {0.5, 0.1};
  converged.fit.emplace();
  converged.fit->n = n;
  converged.fit->events = 10;
  converged.fit->coefficients = {{wire::kInterceptTerm, 0.5}, {"age", 0.1}};
  r.result_json = wire::ToJson(converged);
  return r;
}

// What each site answers at the checkpoint's candidates (the eta above stand for x'beta).
std::vector<ResultRecord> Answers(const protocol::TensorSet& input, int extra_rows_at_site0 = 0) {
  const std::vector<double> candidates = protocol::ToDoubles(*input.Find(kTercileCandidates));
  std::vector<ResultRecord> results;
  for (size_t s = 0; s < kEta.size(); ++s) {
    ResultRecord r;
    r.site_id = "site" + std::to_string(s);
    const int64_t n_rows =
        static_cast<int64_t>(kEta[s].size()) + (s == 0 ? extra_rows_at_site0 : 0);
    wire::LogisticSiteAnswer answer;
    answer.terciles = true;
    answer.n_rows = n_rows;
    answer.tercile_counts = stats::CountAtOrBelow(kEta[s], candidates);
    r.result_json = wire::ToJson(answer);
    results.push_back(r);
  }
  return results;
}

// Runs the terciles rounds with a new StudyLogic for every round, as after a restart each time:
// everything the search knows comes from the stored rounds.
json RunTerciles(std::vector<RoundRecord>& history, int extra_rows_at_site0 = 0) {
  auto first = NewTercileSearch(30);
  EXPECT_TRUE(first.ok());
  protocol::TensorSet input = TercileCheckpoint({0.5, 0.1}, first->Candidates());
  for (uint32_t round = 7; round < 20; ++round) {
    std::unique_ptr<StudyLogic> logic = MakeLogisticStudyLogic();
    auto out =
        logic->CloseRound(Study(), round, &input, Answers(input, extra_rows_at_site0), history);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return json();
    RoundRecord closed;
    closed.round = round;
    closed.result_json = out->result_json;
    history.push_back(closed);
    if (out->study_done) return json::parse(out->result_json);
    EXPECT_TRUE(out->weights.has_value());
    input = *out->weights;
    EXPECT_EQ(protocol::ToDoubles(*input.Find("beta")), (std::vector<double>{0.5, 0.1}));
  }
  ADD_FAILURE() << "terciles not done";
  return json();
}

// Reference: R 4.x, quantile(plogis(c(a, b, c)), c(1/3, 2/3), type = 7) with a, b, c the sites'
// eta above -> 0.36841462067003883 0.67511433266544607. Tolerance 1e-4 on the logit scale gives
// 1.25e-5 on probabilities.
TEST(TercileRoundsTest, RoundsRebuiltFromTheStoreGiveTheTrainingTerciles) {
  std::vector<RoundRecord> history = {ConvergedRound(30)};
  const json result = RunTerciles(history);
  ASSERT_TRUE(result.contains("fit")) << result.dump();
  const json& fit = result.at("fit");
  ASSERT_TRUE(fit.contains("terciles")) << fit.dump();
  EXPECT_NEAR(fit.at("terciles")[0].get<double>(), 0.36841462067003883, 1.25e-5);
  EXPECT_NEAR(fit.at("terciles")[1].get<double>(), 0.67511433266544607, 1.25e-5);
  EXPECT_EQ(fit.at("five_level_cuts").size(), 4u);
  EXPECT_EQ(fit.at("terciles_rounds").get<int>(), static_cast<int>(history.size()) - 1);
  EXPECT_EQ(result.at("sites"), 3);
  EXPECT_EQ(fit.at("n"), 30);  // the Newton round's fit is carried on
}

TEST(TercileRoundsTest, SitesCountingOtherRowsThanTheFitLeaveTheFitWithoutTerciles) {
  std::vector<RoundRecord> history = {ConvergedRound(30)};
  const json result = RunTerciles(history, /*extra_rows_at_site0=*/1);
  ASSERT_TRUE(result.contains("fit"));
  EXPECT_FALSE(result.at("fit").contains("terciles"));
  EXPECT_NE(result.at("fit").value("terciles_error", "").find("31 rows, the fit used 30"),
            std::string::npos)
      << result.dump();
  EXPECT_EQ(history.size(), 2u);  // the study ends at once
}

TEST(TercileRoundsTest, AStoreThatDisagreesWithTheSearchIsDataLoss) {
  std::vector<RoundRecord> history = {ConvergedRound(30)};
  RunTerciles(history);
  ASSERT_GE(history.size(), 3u);
  ASSERT_TRUE(ReplayTerciles(30, history).ok());
  const std::string stored = history[1].result_json;
  json tampered = json::parse(stored);
  tampered.at(kTercileCandidates)[0] = -29.0;
  history[1].result_json = tampered.dump();
  EXPECT_EQ(ReplayTerciles(30, history).status().code(), absl::StatusCode::kDataLoss);
  history[1].result_json = stored;
  json no_counts = json::parse(history[2].result_json);
  no_counts.erase("tercile_pooled_counts");
  history[2].result_json = no_counts.dump();
  EXPECT_EQ(ReplayTerciles(30, history).status().code(), absl::StatusCode::kDataLoss);
}

TEST(TercileRoundsTest, MalformedSiteAnswersAreRejected) {
  // The answer's own checks: protocol/wire/logistic_regression_test.cc.
  // Through the study logic: a terciles task's upload is checked against its candidates.
  std::unique_ptr<StudyLogic> logic = MakeLogisticStudyLogic();
  const protocol::TensorSet input = TercileCheckpoint({0.0, 1.0}, {-1.0, 0.0, 1.0});
  v1::UploadHeader header;
  header.set_result_json(R"({"status": "ok", "n_rows": 5, "tercile_counts": [1, 2]})");
  EXPECT_EQ(logic->ValidateResult(TaskRecord(), header, nullptr, &input).code(),
            absl::StatusCode::kInvalidArgument);
  header.set_result_json(R"({"status": "ok", "n_rows": 5, "tercile_counts": [1, 2, 4]})");
  EXPECT_TRUE(logic->ValidateResult(TaskRecord(), header, nullptr, &input).ok());
}

TEST(TercileRoundsTest, MalformedLogisticAnswersAreRefusedAtUploadAndNeverThrow) {
  std::unique_ptr<StudyLogic> logic = MakeLogisticStudyLogic();
  TaskRecord task;
  task.site_id = "igr";
  const protocol::TensorSet terciles = TercileCheckpoint({0.0, 1.0}, {-1.0, 0.0, 1.0});
  v1::UploadHeader header;
  // Each of these used to pass ValidateResult or throw in it (json::value on a wrong type).
  for (const char* bad : {R"({"status": "refused", "reason": 42})", R"({"status": 1})", "[]", "17",
                          R"({"status": "ok", "n_rows": 1099511627777,
                                    "tercile_counts": [0, 0, 0]})"}) {
    header.set_result_json(bad);
    const absl::Status s = logic->ValidateResult(task, header, nullptr, &terciles);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("site igr"), std::string::npos) << s;
  }
  header.set_result_json(R"({"status": "refused", "reason": "fewer than 10 events"})");
  EXPECT_TRUE(logic->ValidateResult(task, header, nullptr, &terciles).ok());
  header.set_result_json(R"({"status": 1, "summary": {}})");  // a Newton round's answer
  EXPECT_EQ(logic->ValidateResult(task, header, nullptr, nullptr).code(),
            absl::StatusCode::kInvalidArgument);

  // A stored answer that predates the checks: closing the round reports it, it does not throw.
  StudyRecord study;
  study.spec.add_sites("igr");
  study.spec.set_spec_json(wire::ToJson(Spec()));
  std::vector<ResultRecord> results(1);
  results[0].site_id = "igr";
  results[0].result_json = R"({"status": "refused", "reason": 42})";
  absl::StatusOr<RoundOutcome> closed = absl::UnknownError("not run");
  EXPECT_NO_THROW(closed = logic->CloseRound(study, 0, nullptr, results, {}));
  EXPECT_NE(closed.status().code(), absl::StatusCode::kUnknown);
  results[0].result_json = R"({"status": "ok", "summary": 5})";
  EXPECT_EQ(logic->CloseRound(study, 0, nullptr, results, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A spec with a field of the wrong type is refused at creation, not thrown.
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_study_kind(
      std::string(protocol::StudyKindName(protocol::StudyKind::logistic_regression)));
  for (const char* bad : {R"({"outcome": 5, "features": ["age"]})",
                          R"({"outcome": "severe", "features": [{"name": 3}]})",
                          R"({"outcome": "severe", "features": ["age"], "l2": "x"})"}) {
    spec.set_spec_json(bad);
    EXPECT_EQ(CreateStudyLogic(spec).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(TercileRoundsTest, TiedScoresGiveAnErrorNotThresholds) {
  auto search = NewTercileSearch(30);
  ASSERT_TRUE(search.ok());
  const std::vector<double> eta(30, -1.0);  // every training row scores the same
  while (!search->done()) {
    ASSERT_TRUE(search->Update(stats::CountAtOrBelow(eta, search->Candidates())).ok());
  }
  wire::LogisticModelFit fit;
  AddTerciles(*search, fit);
  EXPECT_TRUE(fit.terciles.empty());
  EXPECT_FALSE(fit.terciles_error.empty());
  EXPECT_EQ(fit.terciles_rounds, search->rounds());
}

}  // namespace
}  // namespace scancov::aggregator
