#include "aggregator/studies/association_table.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "aggregator/coordinator/report.h"
#include "core/status_macros.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;

json Ok(const std::string& term, double p, double log_or, double se, int n) {
  return {{"term", term},
          {"variable", term},
          {"type", "continuous"},
          {"status", "ok"},
          {"n", n},
          {"events", n / 4},
          {"or", std::exp(log_or)},
          {"ci_lower", std::exp(log_or - 1.96 * se)},
          {"ci_upper", std::exp(log_or + 1.96 * se)},
          {"p", p},
          {"z", log_or / se},
          {"log_or", log_or},
          {"se", se}};
}

std::string Site(int n, std::vector<json> terms) {
  return json{{"analysis", "univariate_association"},
              {"outcome", "severe"},
              {"n_patients", n},
              {"n_events", n / 4},
              {"terms", terms}}
      .dump();
}

// Each site's answer parsed as the aggregator parses uploads, then combined.
absl::StatusOr<wire::AssociationTable> Combine(
    const std::vector<std::pair<std::string, std::string>>& answers,
    const wire::AssociationSpec& spec) {
  std::vector<std::pair<std::string, wire::AssociationSiteResult>> parsed;
  for (const auto& [site, text] : answers) {
    absl::StatusOr<wire::AssociationSiteResult> r = wire::ParseAssociationSiteResult(text);
    if (!r.ok()) return Annotate(r.status(), "site '" + site + "'");
    parsed.push_back({site, *r});
  }
  return CombineAssociations(parsed, spec);
}

wire::AssociationSpec Options() {
  wire::AssociationSpec o;
  o.outcome = "severe";
  return o;
}

TEST(AssociationTableTest, StoufferAndFixedEffectMatchScipyAndStatsmodels) {
  // Reference (scipy 1.10 / statsmodels 0.13):
  //   stats.combine_pvalues([0.01/2, 0.2/2], 'stouffer', weights=np.sqrt([800, 140]))
  //     -> Z = 2.870862493513703, two-sided p = 2*norm.sf(Z) = 0.004093535504721212
  //   with site B's effect reversed: [0.01/2, 1 - 0.2/2] -> Z = 1.8817033446446352,
  //     p = 0.05987630537707152
  //   combine_effects([log 1.5, log 1.2], [0.157^2, 0.40^2]).mean_effect_fe = 0.37567742771810564
  auto table = Combine({{"kb", Site(800, {Ok("age", 0.01, std::log(1.5), 0.157, 800),
                                          Ok("ldh", 0.01, std::log(1.5), 0.157, 800)})},
                        {"igr", Site(140, {Ok("age", 0.2, std::log(1.2), 0.40, 140),
                                           Ok("ldh", 0.2, -std::log(1.2), 0.40, 140)})}},
                       Options());
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->rows.size(), 2u);
  const wire::AssociationRow& age = table->rows[0];
  EXPECT_NEAR(age.z_combined, 2.870862493513703, 1e-9);
  EXPECT_NEAR(age.p_combined, 0.004093535504721212, 1e-12);
  EXPECT_NEAR(std::log(age.fe_or), 0.37567742771810564, 1e-9);
  EXPECT_NEAR(age.p_adjusted, 2 * 0.004093535504721212, 1e-12);  // Bonferroni over 2 terms
  EXPECT_TRUE(age.significant);
  const wire::AssociationRow& ldh = table->rows[1];
  EXPECT_NEAR(ldh.z_combined, 1.8817033446446352, 1e-9);
  EXPECT_NEAR(ldh.p_combined, 0.05987630537707152, 1e-12);
  EXPECT_FALSE(ldh.significant);
  EXPECT_EQ(table->tests, 2);
}

TEST(AssociationTableTest, RefusedTermsAreReportedNotDropped) {
  json refused = {{"term", "cancer"},
                  {"variable", "cancer"},
                  {"type", "binary"},
                  {"status", "refused"},
                  {"reason", "fewer than 10 events"}};
  auto table = Combine(
      {{"kb", Site(800, {Ok("cancer", 0.04, 0.3, 0.1, 800)})}, {"igr", Site(140, {refused})}},
      Options());
  ASSERT_TRUE(table.ok());
  const wire::AssociationRow& row = table->rows[0];
  EXPECT_EQ(row.sites.at("igr").status, "refused");
  EXPECT_EQ(row.sites_used, 1);
  EXPECT_NEAR(row.p_combined, 0.04, 1e-12);  // one site: its own p
  // One site: heterogeneity is undefined, and must survive the JSON round trip as such.
  auto back = wire::ParseAssociationTable(wire::ToJson(*table));
  ASSERT_TRUE(back.ok()) << back.status();
  const std::string md = AssociationTableMarkdown(*table);
  EXPECT_NE(md.find("refused"), std::string::npos);
  EXPECT_NE(AssociationTableCsv(*table).find(",refused,"), std::string::npos);
}

TEST(AssociationTableTest, JsonRoundTripAndRenderings) {
  auto table = Combine({{"kb", Site(800, {Ok("age", 0.001, 0.5, 0.1, 800)})},
                        {"igr", Site(140, {Ok("age", 0.03, 0.4, 0.2, 140)})}},
                       Options());
  ASSERT_TRUE(table.ok());
  auto back = wire::ParseAssociationTable(wire::ToJson(*table));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(wire::ToJson(*back), wire::ToJson(*table));
  EXPECT_NE(ForestPlotSvg(*table).find("<polygon"), std::string::npos);
}

TEST(AssociationTableTest, MalformedSiteResultsAreRefusedWithTheSite) {
  auto bad = Combine({{"kb", "not json"}}, Options());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("site 'kb'"), std::string::npos);
  json nan_term = Ok("age", 0.01, 0.4, 0.1, 100);
  nan_term["p"] = 2.0;
  EXPECT_FALSE(Combine({{"kb", Site(100, {nan_term})}}, Options()).ok());
  EXPECT_FALSE(wire::ParseAssociationSpec(R"({"analysis": "univariate_association"})").ok());
  EXPECT_FALSE(
      wire::ParseAssociationSpec(
          R"({"analysis": "univariate_association", "outcome": "severe", "combiner": "x"})")
          .ok());
}

}  // namespace
}  // namespace scancov::aggregator
