#include "models/stats/summary_json.h"

#include <string>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

template <typename T, typename FromJson>
T RoundTrip(const T& value, FromJson from_json) {
  absl::StatusOr<nlohmann::json> parsed = ParseJson(ToJson(value).dump());
  EXPECT_TRUE(parsed.ok());
  absl::StatusOr<T> back = from_json(*parsed);
  EXPECT_TRUE(back.ok()) << back.status();
  return *back;
}

TEST(SummaryJsonTest, LogisticSiteSummaryRoundTripsExactly) {
  LogisticSiteSummary s;
  s.beta = {0.1, -2.0 / 3.0};
  s.gradient = {1e-300, 12345.678901234567};
  s.information = {4.0 / 3.0, 0.1 + 0.2, 0.1 + 0.2, 7.0};
  s.log_likelihood = -22.981521913754701;
  s.weight_sum = 82.5;
  s.num_observations = 40;
  s.num_events = 16;
  s.num_perfectly_fitted = 1;
  const LogisticSiteSummary back = RoundTrip(s, LogisticSiteSummaryFromJson);
  EXPECT_EQ(back.beta, s.beta);
  EXPECT_EQ(back.gradient, s.gradient);
  EXPECT_EQ(back.information, s.information);
  EXPECT_EQ(back.log_likelihood, s.log_likelihood);
  EXPECT_EQ(back.weight_sum, s.weight_sum);
  EXPECT_EQ(back.num_observations, 40);
  EXPECT_EQ(back.num_events, 16);
  EXPECT_EQ(back.num_perfectly_fitted, 1);
}

TEST(SummaryJsonTest, SurvivalCountsRoundTrip) {
  SurvivalCounts c{{1.5, 3.0, 7.25}, {10, 8, 3}, {1, 2, 3}, {1, 3, 0}};
  const SurvivalCounts back = RoundTrip(c, SurvivalCountsFromJson);
  EXPECT_EQ(back.times, c.times);
  EXPECT_EQ(back.at_risk, c.at_risk);
  EXPECT_EQ(back.events, c.events);
  EXPECT_EQ(back.censored, c.censored);
}

TEST(SummaryJsonTest, LogRankSummaryAndSiteTestRoundTrip) {
  LogRankSummary s{{3, 5}, {4.25, 3.75}, {1.5, -1.5, -1.5, 1.5}};
  const LogRankSummary back = RoundTrip(s, LogRankSummaryFromJson);
  EXPECT_EQ(back.observed, s.observed);
  EXPECT_EQ(back.expected, s.expected);
  EXPECT_EQ(back.covariance, s.covariance);
  SiteTest t{2.5e-7, -1.0, 646};
  const SiteTest tb = RoundTrip(t, SiteTestFromJson);
  EXPECT_EQ(tb.p_value, t.p_value);
  EXPECT_EQ(tb.direction, t.direction);
  EXPECT_EQ(tb.n, t.n);
}

TEST(SummaryJsonTest, MalformedInputIsAStatusNotAnException) {
  EXPECT_EQ(ParseJson("{\"beta\": [1, 2").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<nlohmann::json> missing = ParseJson(R"({"beta": [0.0], "gradient": [1.0]})");
  ASSERT_TRUE(missing.ok());
  absl::Status status = LogisticSiteSummaryFromJson(*missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("information"), absl::string_view::npos) << status;
  absl::StatusOr<nlohmann::json> wrong_type =
      ParseJson(R"({"times": "soon", "at_risk": [], "events": [], "censored": []})");
  ASSERT_TRUE(wrong_type.ok());
  EXPECT_EQ(SurvivalCountsFromJson(*wrong_type).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SiteTestFromJson(nlohmann::json::array()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
