// Inverse-variance meta-analysis of per-site estimates (log odds ratios and their standard
// errors, e.g. Association::log_odds_ratio and ::standard_error): the fixed-effect pooled
// estimate and the DerSimonian-Laird random-effects estimate, with Cochran's Q heterogeneity
// test, I^2 and tau^2. Matches R metafor's rma(yi, sei = se, method = "FE" | "DL") and
// statsmodels' combine_effects(method_re = "dl").
//
//   w_i = 1 / se_i^2,   fixed = sum w_i y_i / sum w_i,   se_fixed = 1 / sqrt(sum w_i)
//   Q = sum w_i (y_i - fixed)^2 ~ chi-square(k - 1) under homogeneity
//   tau^2 = max(0, (Q - (k - 1)) / (sum w_i - sum w_i^2 / sum w_i))
//   I^2 = max(0, (Q - (k - 1)) / Q)  (0 when Q = 0)
//   random: the same with w_i* = 1 / (se_i^2 + tau^2)
//
// Intervals are normal (Wald) at `confidence_level`; p-values two-sided. With one site, Q = 0,
// its p is NaN (no degrees of freedom) and the random-effects estimate equals the fixed one.
// Errors: InvalidArgument for empty or mismatched inputs, non-finite values, se <= 0.
#ifndef SCANCOV_MODELS_STATS_META_ANALYSIS_H_
#define SCANCOV_MODELS_STATS_META_ANALYSIS_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

struct PooledEstimate {
  double estimate = 0.0;
  double standard_error = 0.0;
  double ci_lower = 0.0;
  double ci_upper = 0.0;
  double z = 0.0;
  double p_value = 1.0;
};

struct MetaAnalysis {
  PooledEstimate fixed_effect;
  PooledEstimate random_effects;  // DerSimonian-Laird
  double q = 0.0;                 // Cochran's Q
  double q_degrees_of_freedom = 0.0;
  double q_p_value = 1.0;
  double i_squared = 0.0;  // a fraction in [0, 1], not a percentage
  double tau_squared = 0.0;
  int num_sites = 0;
};

absl::StatusOr<MetaAnalysis> MetaAnalyze(absl::Span<const double> estimates,
                                         absl::Span<const double> standard_errors,
                                         double confidence_level = 0.95);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_META_ANALYSIS_H_
