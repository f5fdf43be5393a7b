#include "protocol/wire/secure_sum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "protocol/wire/intercept_calibration.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::wire {
namespace {

using nlohmann::json;
using protocol::StudyKind;
using ::testing::HasSubstr;

const std::string kSpec = R"({"outcome": "severe", "features": ["age", "sex"]})";  // p = 3

stats::LogisticSiteSummary SummaryAt(std::vector<double> beta, double scale) {
  stats::LogisticSiteSummary s;
  const size_t p = beta.size();
  s.beta = std::move(beta);
  for (size_t i = 0; i < p; ++i) s.gradient.push_back(scale * (0.5 - static_cast<double>(i)));
  for (size_t i = 0; i < p * p; ++i) s.information.push_back(scale * (1.0 + i % (p + 1)));
  s.log_likelihood = -10.0 * scale;
  s.weight_sum = 20 * scale;
  s.num_observations = static_cast<int64_t>(20 * scale);
  s.num_events = static_cast<int64_t>(5 * scale);
  s.num_perfectly_fitted = 1;
  return s;
}

LogisticSiteAnswer Answer(double scale) {
  LogisticSiteAnswer a;
  a.split = "all";
  a.n_complete = static_cast<int64_t>(20 * scale);
  a.n_incomplete = 3;
  a.summary = SummaryAt({0, 0, 0}, scale);
  return a;
}

TEST(SecureSumWireTest, OnlyKindsWhoseAnswersAreSumsAreListed) {
  EXPECT_TRUE(SumsAnswers(StudyKind::logistic_regression));
  EXPECT_TRUE(SumsAnswers(StudyKind::intercept_calibration));
  EXPECT_FALSE(SumsAnswers(StudyKind::model_evaluation));
  EXPECT_FALSE(SumsAnswers(StudyKind::cohort_description));
  EXPECT_EQ(SummedKindNames(), "logistic_regression, intercept_calibration, model_selection");
  EXPECT_EQ(CheckSecureSumResolution(StudyKind::model_evaluation, "{}", 40).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(SplitForSecureSum(StudyKind::model_evaluation, "{}", nullptr, "{}").status().code(),
            absl::StatusCode::kUnimplemented);
  const absl::Status s = SecureSumLength(StudyKind::model_evaluation, "{}", nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("cannot be securely aggregated"));
}

// The sum of the sites' vectors is the vector of the pooled answer, and reads back as it: the
// aggregator's one pooled answer equals the sum of what the sites would have sent in clear.
TEST(SecureSumWireTest, TheSumOfTheSitesVectorsReadsBackAsThePooledAnswer) {
  absl::StatusOr<uint64_t> length = SecureSumLength(StudyKind::logistic_regression, kSpec, nullptr);
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_EQ(*length, 3u + 9u + 7u);
  std::vector<double> sum(*length, 0.0);
  std::vector<SecureSumAnswer> parts;
  for (double scale : {1.0, 2.0, 4.0}) {
    absl::StatusOr<SecureSumAnswer> part =
        SplitForSecureSum(StudyKind::logistic_regression, kSpec, nullptr, ToJson(Answer(scale)));
    ASSERT_TRUE(part.ok()) << part.status();
    ASSERT_EQ(part->values.size(), *length);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += part->values[i];
    // In clear: the answer's shape only.
    const json clear = json::parse(part->clear_json);
    EXPECT_EQ(clear, json::parse(R"({"analysis": "logistic_regression", "status": "ok",
                                     "secure_sum": true, "split": "all"})"));
    absl::StatusOr<LogisticSiteAnswer> parsed = ParseLogisticSiteAnswer(part->clear_json);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->secure_sum);
    EXPECT_TRUE(CheckLogisticAnswer(*parsed, {}, 3).ok());
  }
  absl::StatusOr<LogisticSiteAnswer> pooled = LogisticAnswerFromSum(sum, {}, 3);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  const stats::LogisticSiteSummary expected = SummaryAt({0, 0, 0}, 7.0);
  EXPECT_EQ(pooled->summary.beta, expected.beta);
  EXPECT_EQ(pooled->summary.gradient, expected.gradient);
  EXPECT_EQ(pooled->summary.information, expected.information);
  EXPECT_EQ(pooled->summary.log_likelihood, -70.0);
  EXPECT_EQ(pooled->summary.num_observations, 140);
  EXPECT_EQ(pooled->summary.num_events, 35);
  EXPECT_EQ(pooled->summary.num_perfectly_fitted, 3);
  EXPECT_EQ(pooled->n_complete, 140);
  EXPECT_EQ(pooled->n_incomplete, 9);
}

TEST(SecureSumWireTest, TercileRoundsSumTheirCounts) {
  const LogisticCheckpoint asked{{0.1, 0.2, 0.3}, {-1.0, 0.0, 1.0}};
  const protocol::TensorSet checkpoint = ToTensors(asked);
  LogisticSiteAnswer a;
  a.terciles = true;
  a.split = "all";
  a.n_rows = 30;
  a.n_complete = 30;
  a.tercile_counts = {5, 12, 30};
  absl::StatusOr<SecureSumAnswer> part =
      SplitForSecureSum(StudyKind::logistic_regression, kSpec, &checkpoint, ToJson(a));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->values, (std::vector<double>{5, 12, 30, 30, 30, 0}));
  EXPECT_EQ(json::parse(part->clear_json).at("phase"), "terciles");
  std::vector<double> sum = part->values;
  for (double& v : sum) v *= 2;
  absl::StatusOr<LogisticSiteAnswer> pooled = LogisticAnswerFromSum(sum, asked, 3);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_EQ(pooled->tercile_counts, (std::vector<int64_t>{10, 24, 60}));
  EXPECT_EQ(pooled->n_rows, 60);
}

TEST(SecureSumWireTest, RefusalsStayInClearWithoutAVector) {
  LogisticSiteAnswer refused;
  refused.refused = true;
  refused.reason = "fewer rows than the site's minimum";
  absl::StatusOr<SecureSumAnswer> part =
      SplitForSecureSum(StudyKind::logistic_regression, kSpec, nullptr, ToJson(refused));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE(part->refused);
  EXPECT_TRUE(part->values.empty());
  EXPECT_EQ(part->clear_json, ToJson(refused));
}

TEST(SecureSumWireTest, SumsThatCannotComeFromTheRoundAreRefused) {
  std::vector<double> good(19, 0.0);
  good[12] = -1.0;  // log_likelihood
  good[14] = 10;    // num_observations
  ASSERT_TRUE(LogisticAnswerFromSum(good, {}, 3).ok());
  std::vector<double> short_sum(18, 0.0);
  EXPECT_THAT(LogisticAnswerFromSum(short_sum, {}, 3).status().message(),
              HasSubstr("18 values, the round's answers have 19"));
  std::vector<double> fractional = good;
  fractional[14] = 10.4;
  EXPECT_THAT(LogisticAnswerFromSum(fractional, {}, 3).status().message(),
              HasSubstr("num_observations is not a count"));
  std::vector<double> more_events = good;
  more_events[15] = 11;
  EXPECT_THAT(LogisticAnswerFromSum(more_events, {}, 3).status().message(),
              HasSubstr("counts that disagree"));
  std::vector<double> positive_ll = good;
  positive_ll[12] = 0.5;
  EXPECT_FALSE(LogisticAnswerFromSum(positive_ll, {}, 3).ok());
}

TEST(SecureSumWireTest, AClearPartCarryingNumbersOrOfAnotherPhaseIsRefused) {
  const absl::Status numbers =
      ParseLogisticSiteAnswer(R"({"status": "ok", "secure_sum": true, "n_complete": 40})").status();
  EXPECT_THAT(numbers.message(), HasSubstr("carries its numbers masked, not in clear"));
  absl::StatusOr<LogisticSiteAnswer> terciles =
      ParseLogisticSiteAnswer(R"({"status": "ok", "secure_sum": true, "phase": "terciles"})");
  ASSERT_TRUE(terciles.ok()) << terciles.status();
  EXPECT_THAT(CheckLogisticAnswer(*terciles, {}, 3).message(),
              HasSubstr("not of the round's phase"));
  // A site's own answer is checked before its vector is made.
  LogisticSiteAnswer other_beta = Answer(1.0);
  other_beta.summary.beta = {1, 0, 0};
  EXPECT_FALSE(
      SplitForSecureSum(StudyKind::logistic_regression, kSpec, nullptr, ToJson(other_beta)).ok());
}

TEST(SecureSumWireTest, TheResolutionMustBeFinerThanTheNewtonTolerance) {
  EXPECT_TRUE(CheckSecureSumResolution(StudyKind::logistic_regression, kSpec, 35).ok());
  EXPECT_THAT(CheckSecureSumResolution(StudyKind::logistic_regression, kSpec, 20).message(),
              HasSubstr("fractional_bits must be at least 35"));
  const std::string loose = R"({"outcome": "severe", "features": ["age"], "tolerance": 1e-6})";
  EXPECT_TRUE(CheckSecureSumResolution(StudyKind::logistic_regression, loose, 21).ok());
  EXPECT_FALSE(CheckSecureSumResolution(StudyKind::logistic_regression, loose, 20).ok());
}

const std::string kInterceptSpec =
    R"({"analysis": "intercept_calibration", "outcome": "severe", "model": "scancov_paper"})";

InterceptSiteAnswer InterceptAnswer(double intercept, double scale) {
  InterceptSiteAnswer a;
  a.summary.intercept = intercept;
  a.summary.score = -3.25 * scale;
  a.summary.information = 40.5 * scale;
  a.summary.log_likelihood = -120.75 * scale;
  a.summary.num_observations = static_cast<int64_t>(200 * scale);
  a.summary.num_events = static_cast<int64_t>(50 * scale);
  return a;
}

// The intercept's score, information and log-likelihood are sums over the site's patients: the
// sum of the sites' vectors reads back as the pooled answer, at the round's intercept.
TEST(SecureSumWireTest, InterceptSumsReadBackAsThePooledAnswer) {
  const protocol::TensorSet checkpoint = InterceptToTensors(-0.5);
  absl::StatusOr<uint64_t> length =
      SecureSumLength(StudyKind::intercept_calibration, kInterceptSpec, &checkpoint);
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_EQ(*length, kInterceptSumLength);
  std::vector<double> sum(*length, 0.0);
  for (double scale : {1.0, 2.0, 4.0}) {
    absl::StatusOr<SecureSumAnswer> part =
        SplitForSecureSum(StudyKind::intercept_calibration, kInterceptSpec, &checkpoint,
                          ToJson(InterceptAnswer(-0.5, scale)));
    ASSERT_TRUE(part.ok()) << part.status();
    ASSERT_EQ(part->values.size(), *length);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += part->values[i];
    // In clear: the answer's shape only.
    EXPECT_EQ(json::parse(part->clear_json),
              json::parse(R"({"status": "ok", "secure_sum": true})"));
    absl::StatusOr<InterceptSiteAnswer> parsed = ParseInterceptSiteAnswer(part->clear_json);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->secure_sum);
    EXPECT_FALSE(parsed->refused);
  }
  absl::StatusOr<InterceptSiteAnswer> pooled = InterceptAnswerFromSum(sum, -0.5);
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  const scores::InterceptSiteSummary expected = InterceptAnswer(-0.5, 7.0).summary;
  EXPECT_EQ(pooled->summary.intercept, -0.5);
  EXPECT_EQ(pooled->summary.score, expected.score);
  EXPECT_EQ(pooled->summary.information, expected.information);
  EXPECT_EQ(pooled->summary.log_likelihood, expected.log_likelihood);
  EXPECT_EQ(pooled->summary.num_observations, 1400);
  EXPECT_EQ(pooled->summary.num_events, 350);
  // Round 0 has no checkpoint: intercept 0.
  EXPECT_TRUE(SplitForSecureSum(StudyKind::intercept_calibration, kInterceptSpec, nullptr,
                                ToJson(InterceptAnswer(0.0, 1.0)))
                  .ok());
}

TEST(SecureSumWireTest, AnInterceptRefusalStaysInClearWithoutAVector) {
  InterceptSiteAnswer refused;
  refused.refused = true;
  refused.reason = "fewer rows than the site's minimum";
  absl::StatusOr<SecureSumAnswer> part =
      SplitForSecureSum(StudyKind::intercept_calibration, kInterceptSpec, nullptr, ToJson(refused));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE(part->refused);
  EXPECT_TRUE(part->values.empty());
  EXPECT_EQ(part->clear_json, ToJson(refused));
}

TEST(SecureSumWireTest, InterceptSumsThatCannotComeFromTheRoundAreRefused) {
  const std::vector<double> good = {-2.0, 30.0, -100.0, 300, 80};
  ASSERT_TRUE(InterceptAnswerFromSum(good, 0.25).ok());
  EXPECT_THAT(InterceptAnswerFromSum({-2.0, 30.0, -100.0, 300}, 0.25).status().message(),
              HasSubstr("4 values, the round's answers have 5"));
  const auto refused = [&](size_t at, double value) {
    std::vector<double> bad = good;
    bad[at] = value;
    return std::string(InterceptAnswerFromSum(bad, 0.25).status().message());
  };
  EXPECT_THAT(refused(3, 300.4), HasSubstr("n is not a count"));
  EXPECT_THAT(refused(4, -1), HasSubstr("events is not a count"));
  EXPECT_THAT(refused(4, 301), HasSubstr("more events than n"));
  EXPECT_THAT(refused(1, -0.5), HasSubstr("information < 0"));
  EXPECT_THAT(refused(2, 0.5), HasSubstr("log_likelihood > 0"));
  EXPECT_THAT(refused(0, std::nan("")), HasSubstr("not finite"));
}

TEST(SecureSumWireTest, AnInterceptAnswerIsCheckedBeforeItsVectorAndItsClearPartCarriesNoNumbers) {
  // A site's summary at another intercept than the round's is not summed.
  const protocol::TensorSet checkpoint = InterceptToTensors(-0.5);
  EXPECT_THAT(SplitForSecureSum(StudyKind::intercept_calibration, kInterceptSpec, &checkpoint,
                                ToJson(InterceptAnswer(0.0, 1.0)))
                  .status()
                  .message(),
              HasSubstr("another intercept than the round's"));
  // A clear part that carries the numbers as well is refused.
  EXPECT_THAT(ParseInterceptSiteAnswer(
                  R"({"status": "ok", "secure_sum": true, "summary": {"intercept": 0, "score": 1,
                      "information": 2, "log_likelihood": -3, "n": 40, "events": 9}})")
                  .status()
                  .message(),
              HasSubstr("carries its numbers masked, not in clear"));
  // An answer in clear is still an answer in clear.
  absl::StatusOr<InterceptSiteAnswer> plain =
      ParseInterceptSiteAnswer(ToJson(InterceptAnswer(0.0, 1.0)));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->secure_sum);
}

TEST(SecureSumWireTest, TheInterceptsResolutionMustBeFinerThanTheCalibratorsTolerance) {
  EXPECT_TRUE(CheckSecureSumResolution(StudyKind::intercept_calibration, kInterceptSpec, 35).ok());
  EXPECT_THAT(
      CheckSecureSumResolution(StudyKind::intercept_calibration, kInterceptSpec, 34).message(),
      HasSubstr("fractional_bits must be at least 35 for this intercept calibration"));
  EXPECT_FALSE(CheckSecureSumResolution(StudyKind::intercept_calibration, "{}", 40).ok());
}

}  // namespace
}  // namespace scancov::wire
