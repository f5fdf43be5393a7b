// What a task's release sends under secure aggregation (SecAggPayloadOf, TaskSecAggSettings):
// an analysis's numbers masked, only its answer's shape in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/secagg_session.h"
#include "protocol/wire/logistic_regression.h"
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
  h.set_result_json(wire::ToJson(answer));
  return h;
}

TEST(SecAggPayloadTest, ALogisticAnswerLeavesAsItsSumsWithOnlyItsShapeInClear) {
  const v1::Task task = AnalyzeTask("logistic_regression");
  absl::StatusOr<std::optional<SecAggSettings>> settings = TaskSecAggSettings(task);
  ASSERT_TRUE(settings.ok()) << settings.status();
  ASSERT_TRUE(settings->has_value());
  EXPECT_EQ((*settings)->fractional_bits, 36);

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
  EXPECT_EQ(p->header.num_samples(), 40u);
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
