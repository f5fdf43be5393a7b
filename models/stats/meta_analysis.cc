#include "models/stats/meta_analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

PooledEstimate Pool(absl::Span<const double> y, const std::vector<double>& w, double crit) {
  double sum_w = 0.0;
  double sum_wy = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    sum_w += w[i];
    sum_wy += w[i] * y[i];
  }
  PooledEstimate pooled;
  pooled.estimate = sum_wy / sum_w;
  pooled.standard_error = 1.0 / std::sqrt(sum_w);
  pooled.ci_lower = pooled.estimate - crit * pooled.standard_error;
  pooled.ci_upper = pooled.estimate + crit * pooled.standard_error;
  pooled.z = pooled.estimate / pooled.standard_error;
  pooled.p_value = TwoSidedNormalP(pooled.z);
  return pooled;
}

}  // namespace

absl::StatusOr<MetaAnalysis> MetaAnalyze(absl::Span<const double> estimates,
                                         absl::Span<const double> standard_errors,
                                         double confidence_level) {
  constexpr char kWhere[] = "MetaAnalyze";
  SCV_RETURN_IF_ERROR(CheckNonEmpty(kWhere, "estimates", estimates));
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "standard_errors", standard_errors.size(), "estimates",
                                  estimates.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "estimates", estimates));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "standard_errors", standard_errors));
  SCV_RETURN_IF_ERROR(CheckConfidenceLevel(kWhere, confidence_level));
  const size_t k = estimates.size();
  std::vector<double> w(k);
  for (size_t i = 0; i < k; ++i) {
    if (!(standard_errors[i] > 0.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": standard_errors[", i, "] must be > 0"));
    }
    w[i] = 1.0 / (standard_errors[i] * standard_errors[i]);
  }
  const double crit = TwoSidedCriticalValue(confidence_level);
  MetaAnalysis result;
  result.num_sites = static_cast<int>(k);
  result.fixed_effect = Pool(estimates, w, crit);
  double sum_w = 0.0;
  double sum_w2 = 0.0;
  for (size_t i = 0; i < k; ++i) {
    const double d = estimates[i] - result.fixed_effect.estimate;
    result.q += w[i] * d * d;
    sum_w += w[i];
    sum_w2 += w[i] * w[i];
  }
  const double df = static_cast<double>(k) - 1.0;
  result.q_degrees_of_freedom = df;
  result.q_p_value = df > 0 ? ChiSquareSf(result.q, df) : std::numeric_limits<double>::quiet_NaN();
  result.i_squared = result.q > 0.0 ? std::max(0.0, (result.q - df) / result.q) : 0.0;
  const double denominator = sum_w - sum_w2 / sum_w;
  result.tau_squared = denominator > 0.0 ? std::max(0.0, (result.q - df) / denominator) : 0.0;
  std::vector<double> w_random(k);
  for (size_t i = 0; i < k; ++i) {
    w_random[i] = 1.0 / (standard_errors[i] * standard_errors[i] + result.tau_squared);
  }
  result.random_effects = Pool(estimates, w_random, crit);
  return result;
}

}  // namespace scancov::stats
