// What a task's release sends under secure aggregation (SecAggPayloadOf, TaskSecAggSettings):
// an analysis's numbers masked, only its answer's shape in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/gate.h"
#include "node/secagg_session.h"
#include "node/store/node_store.h"
#include "privacy/egress_ledger.h"
#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_selection.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

constexpr char kPrivacy[] = R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 36}})";

v1::Task AnalyzeTask(const std::string& kind) {
  v1::Task task;
  task.set_task_id("t-1");
  task.set_study_id("s");
  task.set_kind(v1::TASK_KIND_ANALYZE);
  task.set_study_kind(kind);
  task.set_spec_json(R"({"analysis": "logistic_regression", "outcome": "severe",
                         "features": ["age"]})");
  task.set_privacy_json(kPrivacy);
  return task;
}

v1::UploadHeader HeaderWith(const wire::LogisticSiteAnswer& answer) {
  v1::UploadHeader h;
  h.set_task_id("t-1");
  h.set_num_samples(40);
  (*h.mutable_metrics())["n"] = 40;
  h.set_result_json(wire::ToJson(answer));
  return h;
}

wire::LogisticSiteAnswer OkAnswer() {
  wire::LogisticSiteAnswer answer;
  answer.split = "all";
  answer.n_complete = 40;
  answer.summary.beta = {0, 0};
  answer.summary.gradient = {1.25, -3.5};
  answer.summary.information = {10, 2, 2, 7};
  answer.summary.log_likelihood = -27.7;
  answer.summary.weight_sum = 40;
  answer.summary.num_observations = 40;
  answer.summary.num_events = 12;
  return answer;
}

TEST(SecAggPayloadTest, ALogisticAnswerLeavesAsItsSumsWithOnlyItsShapeInClear) {
  const v1::Task task = AnalyzeTask("logistic_regression");
  absl::StatusOr<std::optional<SecAggSettings>> settings = TaskSecAggSettings(task);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_TRUE(settings->has_value());
  EXPECT_EQ((*settings)->fractional_bits, 36);

  const wire::LogisticSiteAnswer answer = OkAnswer();
  absl::StatusOr<SecAggPayload> p = SecAggPayloadOf(task, nullptr, HeaderWith(answer), {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->in_clear);
  EXPECT_EQ(p->vector, (std::vector<double>{1.25, -3.5, 10, 2, 2, 7, -27.7, 40, 40, 12, 0, 40, 0}));
  ASSERT_EQ(p->layout.size(), 1u);
  EXPECT_EQ(p->layout.tensors()[0].name, wire::kSecureSumTensor);
  EXPECT_EQ(p->layout.tensors()[0].shape, std::vector<int64_t>{13});
  // No number of the answer is in clear.
  const nlohmann::json clear = nlohmann::json::parse(p->header.result_json());
  EXPECT_TRUE(clear.at("secure_sum").get<bool>());
  EXPECT_FALSE(clear.contains("summary"));
  EXPECT_FALSE(clear.contains("n_complete"));
  // Nor the site's row count or metrics beside the sum.
  EXPECT_EQ(p->header.num_samples(), 0u);
  EXPECT_TRUE(p->header.metrics().empty());
}

// A model selection's fits round: every model's sums, AUC x pairs and pairs masked, evaluated at
// the round's request (the checkpoint); in clear the kind and the suppressed names only.
TEST(SecAggPayloadTest, AModelSelectionAnswerLeavesAsItsSumsWithOnlyItsKindInClear) {
  v1::Task task = AnalyzeTask("model_selection");
  task.set_spec_json(R"({"analysis": "model_selection", "outcome": "severe",
                         "variables": ["age", "spo2"], "folds": 2, "penalty_grid": [1]})");
  task.set_privacy_json(R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 28}})");
  absl::StatusOr<std::optional<SecAggSettings>> settings = TaskSecAggSettings(task);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_TRUE(settings->has_value());
  scores::SelectionRequest asked;
  asked.kind = scores::SelectionRequest::Kind::kFits;
  for (int p = 0; p < 3; ++p) {
    asked.parts.push_back({Eigen::Vector2d(60, 94), Eigen::Vector2d(15, 3)});
  }
  asked.models.push_back({1, {1}, {-1.0, 0.5}});
  const protocol::TensorSet checkpoint = wire::RequestToTensors(asked);
  wire::SelectionSiteAnswer answer;
  answer.aggregates.kind = asked.kind;
  scores::ModelSiteResult fit;
  fit.summary.beta = {-1.0, 0.5};
  fit.summary.gradient = {1.5, -2.25};
  fit.summary.information = {10, 2, 2, 7};
  fit.summary.log_likelihood = -27.5;
  fit.summary.weight_sum = 40;
  fit.summary.num_observations = 40;
  fit.summary.num_events = 12;
  fit.auc = 0.75;
  fit.pairs = 36;
  answer.aggregates.models = {fit};
  answer.suppressed = {"spo2"};
  v1::UploadHeader header;
  header.set_task_id("t-1");
  header.set_num_samples(40);
  header.set_result_json(wire::ToJson(answer));
  absl::StatusOr<SecAggPayload> p = SecAggPayloadOf(task, &checkpoint, header, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->in_clear);
  EXPECT_EQ(p->vector,
            (std::vector<double>{1.5, -2.25, 10, 2, 2, 7, -27.5, 40, 40, 12, 0, 27, 36}));
  EXPECT_EQ(nlohmann::json::parse(p->header.result_json()),
            nlohmann::json::parse(R"({"analysis": "model_selection", "status": "ok",
                                      "secure_sum": true, "kind": "fits",
                                      "suppressed": ["spo2"]})"));
  EXPECT_EQ(p->header.num_samples(), 0u);
  // An answer at other coefficients than the round's is not sent.
  answer.aggregates.models[0].summary.beta = {0, 0};
  header.set_result_json(wire::ToJson(answer));
  EXPECT_FALSE(SecAggPayloadOf(task, &checkpoint, header, {}).ok());
}

// An intercept calibration's round: its score, information, log-likelihood and counts masked,
// evaluated at the round's intercept (the checkpoint), only the answer's shape in clear.
TEST(SecAggPayloadTest, AnInterceptAnswerLeavesAsItsSumsWithOnlyItsShapeInClear) {
  v1::Task task = AnalyzeTask("intercept_calibration");
  task.set_spec_json(
      R"({"analysis": "intercept_calibration", "outcome": "severe", "model": "scancov_paper"})");
  absl::StatusOr<std::optional<SecAggSettings>> settings = TaskSecAggSettings(task);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_TRUE(settings->has_value());
  const protocol::TensorSet checkpoint = wire::InterceptToTensors(-1.5);
  wire::InterceptSiteAnswer answer;
  answer.summary = {-1.5, 2.25, 31.5, -180.5, 400, 95};
  v1::UploadHeader header;
  header.set_task_id("t-1");
  header.set_num_samples(400);
  header.set_result_json(wire::ToJson(answer));
  absl::StatusOr<SecAggPayload> p = SecAggPayloadOf(task, &checkpoint, header, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->in_clear);
  EXPECT_EQ(p->vector, (std::vector<double>{2.25, 31.5, -180.5, 400, 95}));
  EXPECT_EQ(p->layout.tensors()[0].shape, std::vector<int64_t>{5});
  EXPECT_EQ(nlohmann::json::parse(p->header.result_json()),
            nlohmann::json::parse(R"({"status": "ok", "secure_sum": true})"));
  EXPECT_EQ(p->header.num_samples(), 0u);
  // An answer at another intercept than the round's never leaves.
  EXPECT_THAT(SecAggPayloadOf(task, nullptr, header, {}).status().message(),
              HasSubstr("another intercept than the round's"));
}

// The egress ledger records what left: the masked vector and the clear part, no number of the
// answer; the plain answer's entry is withheld.
TEST(SecAggPayloadTest, TheLedgerRecordsWhatLeftAndWithholdsThePlainAnswer) {
  absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
  ASSERT_TRUE(store.ok()) << store.status();
  privacy::EgressLedger ledger((*store)->db());
  const v1::Task task = AnalyzeTask("logistic_regression");
  const v1::UploadHeader plain_header = HeaderWith(OkAnswer());
  privacy::EgressEntry plain_entry;
  plain_entry.task_id = task.task_id();
  plain_entry.kind = "result";
  plain_entry.summary_json = R"({"result": )" + plain_header.result_json() + "}";
  absl::StatusOr<int64_t> plain_id = ledger.Record(plain_entry);
  ASSERT_TRUE(plain_id.ok()) << plain_id.status();
  const Release plain{plain_header, std::nullopt, *plain_id, plain_entry.summary_json};

  absl::StatusOr<SecAggPayload> p = SecAggPayloadOf(task, nullptr, plain_header, {});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<protocol::TensorSet> masked =
      MaskedTensors(p->layout, std::vector<uint64_t>(p->vector.size(), 7));
  ASSERT_TRUE(masked.ok()) << masked.status();
  TaskGate gate(GateOptions{}, TaskPlugins{}, &ledger);
  absl::StatusOr<Release> sent = gate.RecordMasked(task, plain, p->header, *masked);
  ASSERT_TRUE(sent.ok()) << sent.status();

  absl::StatusOr<std::vector<privacy::EgressEntry>> entries = ledger.List();
  ASSERT_TRUE(entries.ok() && entries->size() == 2u);
  EXPECT_EQ((*entries)[0].state, "withheld");
  const nlohmann::json left = nlohmann::json::parse((*entries)[1].summary_json);
  EXPECT_EQ(left.at("num_samples"), 0);
  EXPECT_TRUE(left.at("metrics").empty());
  EXPECT_TRUE(left.at("result").at("secure_sum").get<bool>());
  EXPECT_FALSE(left.at("result").contains("summary")) << left.dump();
  EXPECT_NE((*entries)[1].tensors_json.find("int64"), std::string::npos);
  EXPECT_EQ(sent->header.result_json(), p->header.result_json());
}

TEST(SecAggPayloadTest, ARefusalIsSentInClearAndAnAnswerOfAnotherRoundIsNotSent) {
  const v1::Task task = AnalyzeTask("logistic_regression");
  wire::LogisticSiteAnswer refused;
  refused.refused = true;
  refused.reason = "below the site's minimum";
  absl::StatusOr<SecAggPayload> p = SecAggPayloadOf(task, nullptr, HeaderWith(refused), {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->in_clear);
  EXPECT_TRUE(p->vector.empty());

  wire::LogisticSiteAnswer elsewhere;
  elsewhere.summary.beta = {1, 0};  // round 0 asks at beta = 0
  elsewhere.summary.gradient = {0, 0};
  elsewhere.summary.information = {1, 0, 0, 1};
  elsewhere.summary.log_likelihood = -1;
  const absl::Status s = SecAggPayloadOf(task, nullptr, HeaderWith(elsewhere), {}).status();
  EXPECT_THAT(s.message(), HasSubstr("secure aggregation, task 't-1'"));
  EXPECT_THAT(s.message(), HasSubstr("other coefficients"));
}

TEST(SecAggPayloadTest, AnAnalysisWhoseAnswersAreNotSumsIsNeverSentInClear) {
  v1::Task task = AnalyzeTask("model_evaluation");
  task.set_spec_json(R"({"analysis": "model_evaluation"})");
  const absl::Status s = TaskSecAggSettings(task).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("cannot be securely aggregated"));
  // A training study's final evaluation is not securely aggregated (its metrics leave in clear).
  v1::Task evaluation = AnalyzeTask("tabular_training");
  evaluation.set_spec_json("{}");
  absl::StatusOr<std::optional<SecAggSettings>> none = TaskSecAggSettings(evaluation);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace scancov::node
