#include "models/stats/correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {

absl::StatusOr<Correlation> PearsonCorrelation(absl::Span<const double> x,
                                               absl::Span<const double> y,
                                               double confidence_level) {
  constexpr char kWhere[] = "PearsonCorrelation";
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "y", y.size(), "x", x.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "x", x));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "y", y));
  SCV_RETURN_IF_ERROR(CheckConfidenceLevel(kWhere, confidence_level));
  const size_t count = x.size();
  if (count < 3) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": needs at least 3 pairs"));
  }
  const double n = static_cast<double>(count);
  double mean_x = 0.0;
  double mean_y = 0.0;
  for (size_t i = 0; i < count; ++i) {
    mean_x += x[i] / n;
    mean_y += y[i] / n;
  }
  double sxx = 0.0;
  double syy = 0.0;
  double sxy = 0.0;
  for (size_t i = 0; i < count; ++i) {
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    syy += (y[i] - mean_y) * (y[i] - mean_y);
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
  }
  if (sxx == 0.0 || syy == 0.0) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": x or y is constant"));
  }
  Correlation c;
  c.n = static_cast<int64_t>(count);
  c.r = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  const double df = n - 2.0;
  if (std::fabs(c.r) == 1.0) {
    c.t = std::copysign(std::numeric_limits<double>::infinity(), c.r);
    c.p_value = 0.0;
  } else {
    c.t = c.r * std::sqrt(df / (1.0 - c.r * c.r));
    c.p_value = StudentTTwoSidedP(c.t, df);
  }
  if (count >= 4) {
    const double z = std::atanh(c.r);
    const double half = TwoSidedCriticalValue(confidence_level) / std::sqrt(n - 3.0);
    c.ci_lower = std::tanh(z - half);
    c.ci_upper = std::tanh(z + half);
  } else {
    c.ci_lower = c.ci_upper = std::numeric_limits<double>::quiet_NaN();
  }
  return c;
}

}  // namespace scancov::stats
