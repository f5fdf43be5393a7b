#include "models/stats/pvalue_combination.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// Three sites: two-sided p, direction of the effect, size.
const std::vector<SiteTest> kSites = {{0.003, 1.0, 646}, {0.04, 1.0, 135}, {0.30, -1.0, 80}};

// Reference: scipy 1.10.1. scipy's Stouffer takes one-sided p-values, so the signed z of each
// site is turned into its upper-tail p first:
//   p = np.array([0.003, 0.04, 0.30]); sign = np.array([1, 1, -1]); n = np.array([646, 135, 80])
//   z = sign * stats.norm.isf(p / 2)
//   r = stats.combine_pvalues(stats.norm.sf(z), method="stouffer", weights=w)
//   r.statistic, r.pvalue, 2 * min(r.pvalue, 1 - r.pvalue)
// for w = np.sqrt(n), n, np.ones(3).
TEST(StoufferCombinerTest, MatchesScipyForEachWeighting) {
  struct Case {
    StoufferWeighting weighting;
    double z, one_sided, two_sided;
  };
  const std::vector<Case> cases = {
      {StoufferWeighting::kSqrtSampleSize, 3.0679369213625014, 0.001077710552227867,
       0.002155421104455734},
      {StoufferWeighting::kSampleSize, 3.176208223148243, 0.0007460690378538491,
       0.0014921380757076982},
      {StoufferWeighting::kEqual, 2.300771680060168, 0.010702270000923607, 0.021404540001847213},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CombinedTest> r = StoufferCombiner(c.weighting).Combine(kSites);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectRelative(r->statistic, c.z, 1e-12);
    ExpectRelative(r->p_one_sided, c.one_sided, 1e-11);
    ExpectRelative(r->p_value, c.two_sided, 1e-11);
    EXPECT_EQ(r->method, "stouffer");
    EXPECT_EQ(r->num_sites, 3);
  }
}

// Reference: as above with p2 = [1e-12, 1e-4], n2 = [646, 135], both positive, w = sqrt(n2):
// statistic 8.102564870390701, one-sided p 2.690621593643966e-16. Tiny p-values like the
// seed's 1e-21 must not collapse to 0.
TEST(StoufferCombinerTest, TinyPValuesKeepPrecision) {
  absl::StatusOr<CombinedTest> r =
      StoufferCombiner().Combine({{1e-12, 1.0, 646}, {1e-4, 1.0, 135}});
  ASSERT_TRUE(r.ok());
  ExpectRelative(r->statistic, 8.102564870390701, 1e-12);
  ExpectRelative(r->p_one_sided, 2.690621593643966e-16, 1e-10);
  ExpectRelative(r->p_value, 2 * 2.690621593643966e-16, 1e-10);
}

TEST(StoufferCombinerTest, OppositeDirectionsCancel) {
  absl::StatusOr<CombinedTest> r =
      StoufferCombiner().Combine({{0.01, 1.0, 100}, {0.01, -1.0, 100}});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->statistic, 0.0, 1e-12);
  EXPECT_NEAR(r->p_value, 1.0, 1e-12);
  // One site alone gives back its own two-sided p.
  absl::StatusOr<CombinedTest> single = StoufferCombiner().Combine({{0.037, -1.0, 50}});
  ASSERT_TRUE(single.ok());
  EXPECT_NEAR(single->p_value, 0.037, 1e-14);
  EXPECT_LT(single->statistic, 0.0);
}

// Reference: scipy 1.10.1, stats.combine_pvalues([0.003, 0.04, 0.30], method="fisher").
TEST(FisherCombinerTest, MatchesScipy) {
  absl::StatusOr<CombinedTest> r = FisherCombiner().Combine(kSites);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectRelative(r->statistic, 20.463983239016326, 1e-13);
  ExpectRelative(r->p_value, 0.0022888374433326295, 1e-11);
  EXPECT_EQ(r->degrees_of_freedom, 6.0);
}

TEST(PValueCombinerTest, StrategiesAreInterchangeable) {
  std::vector<std::unique_ptr<PValueCombiner>> combiners;
  combiners.push_back(std::make_unique<StoufferCombiner>());
  combiners.push_back(std::make_unique<FisherCombiner>());
  for (const auto& combiner : combiners) {
    absl::StatusOr<CombinedTest> r = combiner->Combine(kSites);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->method, combiner->name());
    EXPECT_GT(r->p_value, 0.0);
    EXPECT_LT(r->p_value, 0.01);
  }
}

TEST(PValueCombinerTest, RejectsInvalidSites) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::unique_ptr<PValueCombiner>> combiners;
  combiners.push_back(std::make_unique<StoufferCombiner>());
  combiners.push_back(std::make_unique<FisherCombiner>());
  for (const auto& combiner : combiners) {
    EXPECT_EQ(combiner->Combine({}).status().code(), absl::StatusCode::kInvalidArgument);
    for (double bad_p : {0.0, -0.1, 1.5, nan}) {
      absl::Status s = combiner->Combine({{0.2, 1, 10}, {bad_p, 1, 10}}).status();
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad_p;
      EXPECT_NE(s.message().find("site 1"), absl::string_view::npos) << s;
    }
    EXPECT_EQ(combiner->Combine({{0.2, 1, 0}}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(combiner->Combine({{0.2, nan, 10}}).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(FisherCombiner().Combine({{1.0, 1, 10}}).ok());  // p = 1 is valid
}

}  // namespace
}  // namespace scancov::stats
