// Association of one variable with a binary outcome at one site: a univariate logistic
// regression y ~ 1 + x (R: glm(y ~ x, family = binomial)), reported as in the ScanCov seed.
//
//  - Continuous variables: the odds ratio per one standard deviation of x, where the standard
//    deviation is the site's own sample SD (denominator n - 1, R's sd()) over the rows used
//    in the fit. This equals exp(sd * beta) of the fit on raw x; z and p do not depend on it.
//    Each site scales by its own SD, as the per-site tables of the seed do.
//  - Binary variables (0/1): the odds ratio of level 1 against level 0.
//
// The 95% (or `confidence_level`) interval is the Wald interval exp(b +- z_crit * se); p is the
// two-sided Wald p; z = b / se keeps its sign (> 0: higher x or level 1 goes with y = 1) so that
// Stouffer's combination sees the direction (pvalue_combination.h).
#ifndef SCANCOV_MODELS_STATS_UNIVARIATE_ASSOCIATION_H_
#define SCANCOV_MODELS_STATS_UNIVARIATE_ASSOCIATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

enum class VariableKind { kContinuous, kBinary };

struct AssociationOptions {
  double confidence_level = 0.95;
  // When true, rows whose x is NaN (missing) are left out (complete-case analysis, what glm
  // does with NA). When false, a NaN is an error. y must always be complete.
  bool drop_missing_x = false;
};

struct Association {
  VariableKind kind = VariableKind::kContinuous;
  double scale = 1.0;           // the SD used (continuous), 1 for binary
  double log_odds_ratio = 0.0;  // per `scale` of x
  double standard_error = 0.0;  // of log_odds_ratio
  double odds_ratio = 1.0;
  double ci_lower = 0.0;  // of odds_ratio
  double ci_upper = 0.0;
  double z = 0.0;        // signed Wald statistic
  double p_value = 1.0;  // two-sided
  int64_t n = 0;         // rows used
  int64_t events = 0;    // rows with y = 1 among them
};

// Errors: InvalidArgument (empty, mismatched lengths, NaN, y or binary x not 0/1),
// FailedPrecondition (x constant, separation: e.g. a level with no events).
absl::StatusOr<Association> UnivariateAssociation(absl::Span<const double> x,
                                                  absl::Span<const double> y, VariableKind kind,
                                                  const AssociationOptions& options = {});

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_UNIVARIATE_ASSOCIATION_H_
