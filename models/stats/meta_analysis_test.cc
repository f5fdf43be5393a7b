#include "models/stats/meta_analysis.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

void ExpectRelative(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// Reference: statsmodels 0.13.5,
//   from statsmodels.stats.meta_analysis import combine_effects
//   y = np.array([0.72, 0.07, 0.95, 0.40]); se = np.array([0.16, 0.38, 0.30, 0.22])
//   r = combine_effects(y, se**2, method_re="dl")
//   r.summary_frame().loc[["fixed effect", "random effect"]]; r.q; r.tau2; r.i2
//   stats.chi2.sf(r.q, r.df); 2 * stats.norm.sf(abs(eff / sd_eff))   (scipy 1.10.1)
TEST(MetaAnalysisTest, FixedAndDerSimonianLairdMatchStatsmodels) {
  absl::StatusOr<MetaAnalysis> m = MetaAnalyze({0.72, 0.07, 0.95, 0.40}, {0.16, 0.38, 0.30, 0.22});
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectRelative(m->fixed_effect.estimate, 0.609951100990569, 1e-12);
  ExpectRelative(m->fixed_effect.standard_error, 0.11340232048564, 1e-12);
  ExpectRelative(m->fixed_effect.ci_lower, 0.387686637075447, 1e-12);
  ExpectRelative(m->fixed_effect.ci_upper, 0.832215564905692, 1e-12);
  ExpectRelative(m->fixed_effect.p_value, 7.504750755704112e-08, 1e-10);
  ExpectRelative(m->random_effects.estimate, 0.587024768416102, 1e-12);
  ExpectRelative(m->random_effects.standard_error, 0.152726229582375, 1e-12);
  ExpectRelative(m->random_effects.ci_lower, 0.287686858940051, 1e-12);
  ExpectRelative(m->random_effects.ci_upper, 0.886362677892153, 1e-12);
  ExpectRelative(m->random_effects.p_value, 0.00012122239400612377, 1e-10);
  ExpectRelative(m->q, 4.687648115022387, 1e-12);
  EXPECT_EQ(m->q_degrees_of_freedom, 3.0);
  ExpectRelative(m->q_p_value, 0.19615087890706562, 1e-11);
  ExpectRelative(m->tau_squared, 0.03345662456492335, 1e-12);
  ExpectRelative(m->i_squared, 0.36002022199875117, 1e-12);
  EXPECT_EQ(m->num_sites, 4);
}

// Reference: the fixed effect from combine_effects([0.50, 0.52, 0.49], [0.2, 0.3, 0.25]**2):
// 0.501194029850746 (se 0.138527128961883), Q = 0.005970149253732515. statsmodels leaves
// tau^2 negative (-0.0607) here; DerSimonian-Laird truncates it at 0, so the random-effects
// estimate must equal the fixed one and I^2 must be 0.
TEST(MetaAnalysisTest, HomogeneousSitesTruncateTauSquaredAtZero) {
  absl::StatusOr<MetaAnalysis> m = MetaAnalyze({0.50, 0.52, 0.49}, {0.2, 0.3, 0.25});
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectRelative(m->fixed_effect.estimate, 0.501194029850746, 1e-12);
  ExpectRelative(m->fixed_effect.standard_error, 0.138527128961883, 1e-12);
  ExpectRelative(m->q, 0.005970149253732515, 1e-10);
  EXPECT_EQ(m->tau_squared, 0.0);
  EXPECT_EQ(m->i_squared, 0.0);
  EXPECT_DOUBLE_EQ(m->random_effects.estimate, m->fixed_effect.estimate);
  EXPECT_DOUBLE_EQ(m->random_effects.standard_error, m->fixed_effect.standard_error);
}

TEST(MetaAnalysisTest, SingleSiteHasNoHeterogeneityTest) {
  absl::StatusOr<MetaAnalysis> m = MetaAnalyze({0.3}, {0.1});
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->fixed_effect.estimate, 0.3);
  EXPECT_DOUBLE_EQ(m->fixed_effect.standard_error, 0.1);
  EXPECT_TRUE(std::isnan(m->q_p_value));
}

TEST(MetaAnalysisTest, RejectsBadInput) {
  EXPECT_EQ(MetaAnalyze({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetaAnalyze({0.1, 0.2}, {0.1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetaAnalyze({0.1}, {0.0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetaAnalyze({std::numeric_limits<double>::quiet_NaN()}, {0.1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetaAnalyze({0.1}, {0.1}, 0.0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
