#include "protocol/wire/univariate_association.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace scancov::wire {
namespace {

using ::testing::HasSubstr;

AssociationTerm Ok(const std::string& term, int64_t n) {
  AssociationTerm t;
  t.term = t.variable = term;
  t.type = "continuous";
  t.status = "ok";
  t.n = n;
  t.events = n / 4;
  t.log_or = 0.4;
  t.se = 0.1;
  t.odds_ratio = std::exp(0.4);
  t.ci_lower = std::exp(0.4 - 0.196);
  t.ci_upper = std::exp(0.4 + 0.196);
  t.z = 4;
  t.p = 6.334e-05;
  return t;
}

TEST(UnivariateAssociationWireTest, SpecDefaultsAndBounds) {
  absl::StatusOr<AssociationSpec> spec = ParseAssociationSpec(
      R"({"analysis": "univariate_association", "outcome": "severe", "variables": ["age"]})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->combiner, "stouffer");
  EXPECT_EQ(spec->weighting, "sqrt_n");
  EXPECT_EQ(spec->variables, std::vector<std::string>{"age"});
  EXPECT_TRUE(ParseAssociationSpec(R"({"outcome": "death"})").ok());  // the kind by default
  for (const char* bad :
       {R"({"analysis": "univariate_association"})", R"({"outcome": "severe", "alpha": 1})",
        R"({"outcome": "severe", "variables": [3]})", R"({"outcome": "severe", "combiner": "x"})",
        R"({"outcome": 7})", R"({"outcome": "severe", "min_cell_count": -1})",
        R"({"analysis": "logistic_regression", "outcome": "severe"})", "[]"}) {
    EXPECT_EQ(ParseAssociationSpec(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(UnivariateAssociationWireTest, SiteAnswerRoundTripAndChecks) {
  AssociationSiteResult r;
  r.outcome = "severe";
  r.n_patients = 800;
  r.n_events = 200;
  r.min_cell_count = 10;
  r.terms = {Ok("age", 800)};
  AssociationTerm refused;
  refused.term = refused.variable = "cancer";
  refused.type = "binary";
  refused.status = "refused";
  refused.reason = "fewer than 10 events";
  r.terms.push_back(refused);
  absl::StatusOr<AssociationSiteResult> back = ParseAssociationSiteResult(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(r));
  EXPECT_EQ(back->terms[1].reason, "fewer than 10 events");

  AssociationSiteResult bad = r;
  bad.terms[0].p = 2;
  EXPECT_FALSE(ParseAssociationSiteResult(ToJson(bad)).ok());
  bad = r;
  bad.terms[0].n = 900;  // more patients than the site has
  EXPECT_THAT(ParseAssociationSiteResult(ToJson(bad)).status().message(),
              HasSubstr("n exceeds n_patients"));
  bad = r;
  bad.terms[0].status = "maybe";
  EXPECT_THAT(ParseAssociationSiteResult(ToJson(bad)).status().message(),
              HasSubstr("unknown status 'maybe'"));
  EXPECT_FALSE(ParseAssociationSiteResult(R"({"terms": [{"term": 3, "status": "ok"}]})").ok());
  EXPECT_FALSE(ParseAssociationSiteResult("not json").ok());
}

TEST(UnivariateAssociationWireTest, CombinedTableRoundTripKeepsUndefinedAsNull) {
  AssociationTable t;
  t.options.outcome = "severe";
  t.sites = {"kb"};
  t.site_counts["kb"] = {800, 200};
  AssociationRow row{"age", "age", "continuous"};
  row.sites["kb"] = Ok("age", 800);
  row.sites_used = 1;
  row.combined = true;
  row.p_combined = 6.334e-05;
  row.q_p = std::nan("");  // one site: heterogeneity undefined
  t.rows.push_back(row);
  t.tests = 1;
  const std::string text = ToJson(t);
  EXPECT_THAT(text, HasSubstr("\"q_p\":null"));
  absl::StatusOr<AssociationTable> back = ParseAssociationTable(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::isnan(back->rows[0].q_p));
  EXPECT_EQ(ToJson(*back), text);
}

}  // namespace
}  // namespace scancov::wire
