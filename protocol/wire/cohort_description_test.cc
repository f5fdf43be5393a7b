#include "protocol/wire/cohort_description.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace scancov::wire {
namespace {

using ::testing::HasSubstr;

CohortSiteMoments Moments() {
  CohortSiteMoments m;
  m.n_patients = 100;
  m.n_events = 30;
  m.min_cell_count = 10;
  CohortVariable age;
  age.variable = "age";
  age.type = "continuous";
  age.n = 90;
  age.missing = 10;
  age.sum = 90 * 60.0;
  age.sum_sq = 90 * (60.0 * 60.0 + 15.0 * 15.0);
  CohortVariable ggo;
  ggo.variable = "ggo";
  ggo.type = "categorical";
  ggo.n = 100;
  ggo.levels = {{0, 40}, {1, 50}, {2, -1}};
  CohortVariable cancer;
  cancer.variable = "cancer";
  cancer.type = "binary";
  cancer.status = "suppressed";
  cancer.reason = "fewer than 10 patients in each level";
  m.variables = {age, ggo, cancer};
  return m;
}

TEST(CohortDescriptionWireTest, SpecBounds) {
  absl::StatusOr<CohortSpec> spec = ParseCohortSpec(
      R"({"analysis": "cohort_description", "outcome": "severe", "variables": ["age", "sex"]})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->quantiles);
  for (const char* bad :
       {R"({"analysis": "cohort_description", "outcome": "severe"})",
        R"({"analysis": "cohort_description", "variables": ["age"]})",
        R"({"analysis": "cohort_description", "outcome": "severe", "variables": ["age", "age"]})",
        R"({"analysis": "cohort_description", "outcome": "severe", "variables": ["age"],
            "quantiles": "yes"})",
        R"({"analysis": "model_selection", "outcome": "severe", "variables": ["age"]})"}) {
    EXPECT_EQ(ParseCohortSpec(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(CohortDescriptionWireTest, MomentsRoundTripAndChecks) {
  const CohortSiteMoments m = Moments();
  absl::StatusOr<CohortSiteMoments> back = ParseCohortSiteMoments(ToJson(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(m));
  EXPECT_EQ(back->variables[1].levels.at(2), -1);  // suppressed travels as null

  CohortSiteMoments bad = Moments();
  bad.variables[0].missing = 5;  // n + missing != n_patients
  EXPECT_THAT(ParseCohortSiteMoments(ToJson(bad)).status().message(),
              HasSubstr("n + missing differs"));
  bad = Moments();
  bad.variables[0].sum_sq = 1;  // smaller than sum^2 / n
  EXPECT_THAT(ParseCohortSiteMoments(ToJson(bad)).status().message(), HasSubstr("sum_sq"));
  bad = Moments();
  bad.variables[1].levels[0] = 80;  // 80 + 50 > n
  EXPECT_THAT(ParseCohortSiteMoments(ToJson(bad)).status().message(), HasSubstr("exceed n"));
  bad = Moments();
  bad.n_events = 101;
  EXPECT_FALSE(ParseCohortSiteMoments(ToJson(bad)).ok());
  EXPECT_FALSE(ParseCohortSiteMoments(R"({"phase": "moments", "n_patients": 5,
      "variables": [{"variable": "age", "type": "continuous", "status": "ok", "n": 5,
                     "missing": 0, "sum": "x", "sum_sq": 1}]})")
                   .ok());
}

TEST(CohortDescriptionWireTest, CandidatesAndCountsAreCheckedBeforeUse) {
  const CohortCandidates asked = {{"age", {40, 50, 60}}, {"crp", {10, 20}}};
  absl::StatusOr<CohortCandidates> back = CandidatesFromTensors(CandidatesToTensors(asked));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, asked);
  EXPECT_FALSE(CandidatesFromTensors(CandidatesToTensors({{"age", {50, 40}}})).ok());
  EXPECT_FALSE(CandidatesFromTensors(CandidatesToTensors({{"age", {}}})).ok());
  EXPECT_FALSE(
      CandidatesFromTensors(CandidatesToTensors({{"age", std::vector<double>(300, 1.0)}})).ok());

  const CohortCounts counts = {{"age", {10, 40, 70}}};  // crp not released at this site
  absl::StatusOr<CohortCounts> parsed = ParseCohortCounts(CountsToJson(counts, asked), asked);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, counts);
  EXPECT_FALSE(
      ParseCohortCounts(CountsToJson({{"age", {40, 10, 70}}}, asked), asked).ok());  // decreasing
  EXPECT_FALSE(ParseCohortCounts(R"({"counts": {"age": [1, 2, 3]}})", asked).ok());  // crp absent
  EXPECT_FALSE(ParseCohortCounts(R"({"counts": {"age": [1, 2], "crp": null}})", asked).ok());
}

TEST(CohortDescriptionWireTest, TableRoundTrip) {
  CohortTable t;
  t.outcome = "severe";
  t.min_cell_count = 10;
  t.sites = {"kb"};
  t.site_patients["kb"] = 100;
  t.site_events["kb"] = -1;
  t.pooled_patients = 100;
  t.quantile_rounds = 4;
  CohortRow row;
  row.variable = "age";
  row.type = "continuous";
  row.sites["kb"].n = 90;
  row.pooled.n = 90;
  row.pooled.mean = 60;
  row.pooled.sd = 15;
  row.pooled.quartiles = {50, 60, 70};
  row.pooled_sites = {"kb"};
  t.rows.push_back(row);
  absl::StatusOr<CohortTable> back = ParseCohortTable(ToJson(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(t));
  EXPECT_EQ(back->site_events.at("kb"), -1);
}

}  // namespace
}  // namespace scancov::wire
