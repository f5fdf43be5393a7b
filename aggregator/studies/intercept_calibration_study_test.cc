// The intercept_calibration logic under secure aggregation: what an upload may be, and a study
// closed round after round from the unmasked sums equals the study closed from the sites'
// answers in clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "aggregator/server/study_logic.h"
#include "aggregator/studies/registry.h"
#include "aggregator/studies/secure_upload_rules_test_util.h"
#include "models/scores/intercept_calibration.h"
#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;

constexpr char kSecure[] = R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 36}})";
constexpr int kFractionalBits = 36;

v1::StudySpec Spec(const std::string& privacy_json) {
  v1::StudySpec spec;
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  spec.set_study_kind("intercept_calibration");
  spec.set_spec_json(
      R"({"analysis": "intercept_calibration", "outcome": "severe", "model": "scancov_paper"})");
  spec.set_privacy_json(privacy_json);
  return spec;
}

// A site's patients: linear predictors and outcomes, deterministic (no generator to depend on).
struct SitePatients {
  std::string id;
  std::vector<double> lp, y;
};

SitePatients Patients(const std::string& id, int n, double phase) {
  SitePatients s{id, {}, {}};
  for (int i = 0; i < n; ++i) {
    const double lp = 1.5 * std::sin(0.7 * i + phase) - 0.5;
    const double p = 1.0 / (1.0 + std::exp(-(0.3 + lp)));
    s.lp.push_back(lp);
    s.y.push_back(std::fmod(0.618034 * i + phase, 1.0) < p ? 1.0 : 0.0);
  }
  return s;
}

// A value as the fixed point carries it: rounded to 2^-bits.
double FixedPoint(double v) {
  return std::round(std::ldexp(v, kFractionalBits)) / std::ldexp(1.0, kFractionalBits);
}

ResultRecord Result(const std::string& site, const wire::InterceptSiteAnswer& answer) {
  ResultRecord r;
  r.site_id = site;
  r.result_json = wire::ToJson(answer);
  return r;
}

v1::UploadHeader Header(const wire::InterceptSiteAnswer& a) {
  v1::UploadHeader h;
  h.set_result_json(wire::ToJson(a));
  return h;
}

wire::InterceptSiteAnswer Refusal() {
  wire::InterceptSiteAnswer refusal;
  refusal.refused = true;
  refusal.reason = "below the minimum";
  return refusal;
}

TEST(InterceptStudyTest, UnderSecureAggregationOnlyAMaskedAnswerWithItsVectorIsAccepted) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  auto plain = CreateStudyLogic(Spec(""));
  ASSERT_TRUE(secure.ok() && plain.ok());
  TaskRecord task;
  task.site_id = "kb";
  task.kind = v1::TASK_KIND_ANALYZE;
  const protocol::TensorSet vector = wire::SecureSumLayout(wire::kInterceptSumLength);
  wire::InterceptSiteAnswer answer;
  answer.summary = {0.0, -2.0, 30.0, -100.0, 300, 80};
  const v1::UploadHeader in_clear = Header(answer);
  const v1::UploadHeader masked = Header(wire::ClearPart(answer));
  const v1::UploadHeader refusal = Header(Refusal());
  testing::ExpectSecureUploadRules(**secure, **plain, task, {in_clear, masked, refusal, vector});
  // In clear, the summary must still be at the round's intercept.
  const protocol::TensorSet asked = wire::InterceptToTensors(0.5);
  EXPECT_THAT((*plain)->ValidateResult(task, in_clear, nullptr, &asked).message(),
              HasSubstr("another intercept"));
}

// Every round, each site's answer at the round's intercept: in clear to one study, as the
// fixed-point sum of the vectors to the other (each study at its own checkpoints, as the
// federation runs them; round 0's answers are the same). The two studies take the same steps
// and end with the same calibration.
TEST(InterceptStudyTest, AStudyClosedFromTheSumsIsTheStudyClosedFromTheAnswers) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  auto plain = CreateStudyLogic(Spec(""));
  ASSERT_TRUE(secure.ok() && plain.ok());
  const std::vector<SitePatients> sites = {Patients("kb", 300, 0.1), Patients("igr", 120, 0.4),
                                           Patients("hegp", 80, 0.7)};
  StudyRecord study;
  study.study_id = "s";
  std::vector<RoundRecord> plain_history, secure_history;
  std::optional<protocol::TensorSet> plain_input, secure_input;  // none in round 0
  std::optional<RoundOutcome> a, b;
  for (uint32_t round = 0; round < 20; ++round) {
    const protocol::TensorSet* plain_checkpoint = plain_input ? &*plain_input : nullptr;
    const protocol::TensorSet* secure_checkpoint = secure_input ? &*secure_input : nullptr;
    absl::StatusOr<double> plain_asked = wire::ParseInterceptCheckpoint(plain_checkpoint);
    absl::StatusOr<double> secure_asked = wire::ParseInterceptCheckpoint(secure_checkpoint);
    ASSERT_TRUE(plain_asked.ok() && secure_asked.ok());
    std::vector<ResultRecord> in_clear, masked;
    std::vector<double> sum(wire::kInterceptSumLength, 0.0);
    for (const SitePatients& site : sites) {
      wire::InterceptSiteAnswer answer;
      absl::StatusOr<scores::InterceptSiteSummary> summary =
          scores::SummarizeInterceptSite(site.lp, site.y, *plain_asked);
      ASSERT_TRUE(summary.ok()) << summary.status();
      answer.summary = *summary;
      in_clear.push_back(Result(site.id, answer));
      summary = scores::SummarizeInterceptSite(site.lp, site.y, *secure_asked);
      ASSERT_TRUE(summary.ok()) << summary.status();
      answer.summary = *summary;
      masked.push_back(Result(site.id, wire::ClearPart(answer)));
      absl::StatusOr<std::vector<double>> v = wire::InterceptSumVector(answer, *secure_asked);
      ASSERT_TRUE(v.ok()) << v.status();
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += FixedPoint((*v)[i]);
    }
    // A site that refused is in clear in both and in neither sum.
    in_clear.push_back(Result("tiny", Refusal()));
    masked.push_back(Result("tiny", Refusal()));
    absl::StatusOr<RoundOutcome> plain_out =
        (*plain)->CloseRound(study, round, plain_checkpoint, in_clear, plain_history);
    absl::StatusOr<RoundOutcome> secure_out = (*secure)->CloseSecureRound(
        study, round, secure_checkpoint, masked, sum, sites.size(), secure_history);
    ASSERT_TRUE(plain_out.ok()) << plain_out.status();
    ASSERT_TRUE(secure_out.ok()) << secure_out.status();
    // The sum must hold every site the clear parts name.
    EXPECT_FALSE((*secure)
                     ->CloseSecureRound(study, round, secure_checkpoint, masked, sum,
                                        sites.size() - 1, secure_history)
                     .ok());
    a = std::move(*plain_out);
    b = std::move(*secure_out);
    ASSERT_EQ(a->study_done, b->study_done) << "round " << round;
    plain_history.push_back(RoundRecord{"s", round, "closed", "", 0, 0, 0, {}, a->result_json});
    secure_history.push_back(RoundRecord{"s", round, "closed", "", 0, 0, 0, {}, b->result_json});
    if (a->study_done) break;
    ASSERT_TRUE(a->weights.has_value() && b->weights.has_value());
    plain_input = std::move(a->weights);
    secure_input = std::move(b->weights);
    EXPECT_NEAR(protocol::ToDoubles(plain_input->tensors()[0])[0],
                protocol::ToDoubles(secure_input->tensors()[0])[0], 1e-9)
        << "round " << round;
  }
  ASSERT_TRUE(a && a->study_done) << "no convergence in 20 rounds";
  EXPECT_EQ(plain_history.size(), secure_history.size());
  EXPECT_GE(plain_history.size(), 3u);  // a few Newton steps, not a single round
  absl::StatusOr<wire::InterceptRoundResult> plain_result =
      wire::ParseInterceptRoundResult(a->result_json);
  absl::StatusOr<wire::InterceptRoundResult> secure_result =
      wire::ParseInterceptRoundResult(b->result_json);
  ASSERT_TRUE(plain_result.ok() && secure_result.ok());
  ASSERT_TRUE(plain_result->fit && secure_result->fit);
  const scores::InterceptCalibration& x = *plain_result->fit;
  const scores::InterceptCalibration& y = *secure_result->fit;
  EXPECT_NEAR(x.intercept, y.intercept, 1e-9);
  EXPECT_NEAR(x.standard_error, y.standard_error, 1e-9);
  EXPECT_NEAR(x.log_likelihood, y.log_likelihood, 1e-9);
  EXPECT_EQ(x.iterations, y.iterations);
  EXPECT_EQ(x.num_observations, y.num_observations);
  EXPECT_EQ(x.num_observations, 500);
  EXPECT_EQ(x.num_events, y.num_events);
  EXPECT_EQ(secure_result->refused, std::vector<std::string>{"tiny"});
  // And the one calibration on the pooled patients.
  std::vector<double> lp, outcomes;
  for (const SitePatients& site : sites) {
    lp.insert(lp.end(), site.lp.begin(), site.lp.end());
    outcomes.insert(outcomes.end(), site.y.begin(), site.y.end());
  }
  absl::StatusOr<scores::InterceptCalibration> pooled = scores::CalibrateIntercept(lp, outcomes);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_NEAR(y.intercept, pooled->intercept, 1e-9);
}

TEST(InterceptStudyTest, ASumNoSitesCouldHaveSentIsRefusedAtTheClose) {
  auto secure = CreateStudyLogic(Spec(kSecure));
  ASSERT_TRUE(secure.ok());
  StudyRecord study;
  wire::InterceptSiteAnswer clear;
  clear.secure_sum = true;
  const std::vector<ResultRecord> masked = {Result("kb", clear), Result("igr", clear)};
  const absl::Status fractional =
      (*secure)
          ->CloseSecureRound(study, 0, nullptr, masked, {-2, 30, -100, 300.5, 80}, 2, {})
          .status();
  EXPECT_THAT(fractional.message(), HasSubstr("n is not a count"));
  const absl::Status plain_answer =
      (*secure)
          ->CloseSecureRound(study, 0, nullptr, {Result("kb", clear), Result("igr", Refusal())},
                             {-2, 30, -100, 300, 80}, 2, {})
          .status();
  EXPECT_THAT(plain_answer.message(), HasSubstr("2 sites in the secure sum, 1 masked answers"));
}

}  // namespace
}  // namespace scancov::aggregator
