// The logistic_regression logic under secure aggregation: what an upload may be, and a round
// closed from the unmasked sum equals the round closed from the sites' answers in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "aggregator/studies/secure_upload_rules_test_util.h"
#include "protocol/study_kind.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

constexpr char kSecure[] = R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 36}})";

v1::StudySpec Spec(const std::string& privacy_json) {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_study_kind("logistic_regression");
  spec.set_spec_json(
      R"({"analysis": "logistic_regression", "outcome": "severe", "features": ["age"],
          "terciles": false})");
  spec.set_privacy_json(privacy_json);
  return spec;
}

wire::LogisticSiteAnswer Answer(double scale) {
  wire::LogisticSiteAnswer a;
  a.split = "all";
  a.n_complete = static_cast<int64_t>(40 * scale);
  a.summary.beta = {0, 0};
  a.summary.gradient = {-2.0 * scale, 30.0 * scale};
  a.summary.information = {10 * scale, 600 * scale, 600 * scale, 40000 * scale};
  a.summary.log_likelihood = -27.7 * scale;
  a.summary.weight_sum = 40 * scale;
  a.summary.num_observations = static_cast<int64_t>(40 * scale);
  a.summary.num_events = static_cast<int64_t>(12 * scale);
  return a;
}

v1::UploadHeader Header(const wire::LogisticSiteAnswer& a) {
  v1::UploadHeader h;
  h.set_result_json(wire::ToJson(a));
  return h;
}

TEST(LogisticStudyTest, UnderSecureAggregationOnlyAMaskedAnswerWithItsVectorIsAccepted) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  auto plain = CreateStudyLogic(Spec(""));
  ASSERT_TRUE(secure.ok() && plain.ok());
  TaskRecord task;
  task.site_id = "kb";
  task.kind = v1::TASK_KIND_ANALYZE;
  const protocol::TensorSet vector = wire::SecureSumLayout(13);
  const v1::UploadHeader in_clear = Header(Answer(1));
  const v1::UploadHeader masked = Header(wire::ClearPart(Answer(1)));
  wire::LogisticSiteAnswer refusal;
  refusal.refused = true;
  refusal.reason = "below the minimum";

  testing::ExpectSecureUploadRules(**secure, **plain, task,
                                   {in_clear, masked, Header(refusal), vector});
}

// The pooled answer the sum reads back as closes the round exactly as the answers in clear do.
TEST(LogisticStudyTest, ARoundClosedFromTheSumIsTheRoundClosedFromTheAnswers) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  auto plain = CreateStudyLogic(Spec(""));
  ASSERT_TRUE(secure.ok() && plain.ok());
  StudyRecord study;
  study.study_id = "s";
  std::vector<ResultRecord> in_clear, masked;
  std::vector<double> sum;
  for (double scale : {1.0, 2.0, 3.0}) {
    const std::string site = "site" + std::to_string(static_cast<int>(scale));
    in_clear.push_back(ResultRecord{});
    in_clear.back().site_id = site;
    in_clear.back().result_json = wire::ToJson(Answer(scale));
    masked.push_back(ResultRecord{});
    masked.back().site_id = site;
    masked.back().result_json = wire::ToJson(wire::ClearPart(Answer(scale)));
    absl::StatusOr<std::vector<double>> v = wire::LogisticSumVector(Answer(scale), {}, 2);
    ASSERT_TRUE(v.ok()) << v.status();
    if (sum.empty()) sum.assign(v->size(), 0.0);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*v)[i];
  }
  absl::StatusOr<RoundOutcome> a = (*plain)->CloseRound(study, 0, nullptr, in_clear, {});
  absl::StatusOr<RoundOutcome> b =
      (*secure)->CloseSecureRound(study, 0, nullptr, masked, sum, 3, {});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->result_json, b->result_json);
  ASSERT_TRUE(a->weights.has_value() && b->weights.has_value());
  EXPECT_EQ(protocol::ToDoubles(a->weights->tensors()[0]),
            protocol::ToDoubles(b->weights->tensors()[0]));
  EXPECT_EQ(nlohmann::json::parse(b->result_json).at("sites"), 3);
  // The sum must hold every site the clear parts name.
  EXPECT_FALSE((*secure)->CloseSecureRound(study, 0, nullptr, masked, sum, 2, {}).ok());
}

}  // namespace
}  // namespace scancov::aggregator
