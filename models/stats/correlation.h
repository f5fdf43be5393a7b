// Pearson's correlation with the Fisher-z interval and the t-test p-value, matching R's
// cor.test(x, y, method = "pearson"):
//   r = cov(x, y) / (sd(x) sd(y))
//   CI = tanh(atanh(r) -+ z_crit / sqrt(n - 3))   (needs n >= 4; NaN otherwise)
//   p  = P(|T_{n-2}| > |r| sqrt((n - 2) / (1 - r^2)))  two-sided (needs n >= 3)
// Errors: InvalidArgument for mismatched lengths, NaN/infinite values, n < 3;
// FailedPrecondition when x or y is constant (r undefined).
#ifndef SCANCOV_MODELS_STATS_CORRELATION_H_
#define SCANCOV_MODELS_STATS_CORRELATION_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

struct Correlation {
  double r = 0.0;
  double ci_lower = -1.0;
  double ci_upper = 1.0;
  double t = 0.0;  // the test statistic, n - 2 degrees of freedom
  double p_value = 1.0;
  int64_t n = 0;
};

absl::StatusOr<Correlation> PearsonCorrelation(absl::Span<const double> x,
                                               absl::Span<const double> y,
                                               double confidence_level = 0.95);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_CORRELATION_H_
