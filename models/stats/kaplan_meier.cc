#include "models/stats/kaplan_meier.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void SetInterval(SurvivalInterval interval, double crit, KaplanMeierPoint& p) {
  const double s = p.survival;
  if (s == 0.0 || !std::isfinite(p.std_err_log)) {
    p.ci_lower = p.ci_upper = kNaN;
    return;
  }
  switch (interval) {
    case SurvivalInterval::kLog:
      p.ci_lower = s * std::exp(-crit * p.std_err_log);
      p.ci_upper = std::min(1.0, s * std::exp(crit * p.std_err_log));
      return;
    case SurvivalInterval::kLogLog: {
      if (s == 1.0) {
        p.ci_lower = p.ci_upper = kNaN;
        return;
      }
      // log(-log S) has standard error se_log / |log S|.
      const double log_s = std::log(s);
      p.ci_lower = std::exp(-std::exp(std::log(-log_s) - crit * p.std_err_log / log_s));
      p.ci_upper = std::exp(-std::exp(std::log(-log_s) + crit * p.std_err_log / log_s));
      return;
    }
    case SurvivalInterval::kPlain:
      p.ci_lower = std::max(0.0, s - crit * p.std_err);
      p.ci_upper = std::min(1.0, s + crit * p.std_err);
      return;
  }
}

}  // namespace

double KaplanMeierCurve::SurvivalAt(double t) const {
  double s = 1.0;
  for (const KaplanMeierPoint& p : points) {
    if (p.time > t) break;
    s = p.survival;
  }
  return s;
}

absl::StatusOr<KaplanMeierCurve> KaplanMeier(const SurvivalCounts& counts, double confidence_level,
                                             SurvivalInterval interval) {
  constexpr char kWhere[] = "KaplanMeier";
  SCV_RETURN_IF_ERROR(ValidateSurvivalCounts(counts));
  SCV_RETURN_IF_ERROR(CheckConfidenceLevel(kWhere, confidence_level));
  if (counts.times.empty())
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no patients"));
  const double crit = TwoSidedCriticalValue(confidence_level);
  KaplanMeierCurve curve;
  curve.total = counts.total();
  double survival = 1.0;
  double greenwood = 0.0;
  for (size_t k = 0; k < counts.times.size(); ++k) {
    KaplanMeierPoint p;
    p.time = counts.times[k];
    p.at_risk = counts.at_risk[k];
    p.events = counts.events[k];
    p.censored = counts.censored[k];
    const double n = static_cast<double>(p.at_risk);
    const double d = static_cast<double>(p.events);
    survival *= 1.0 - d / n;
    if (d > 0.0) {
      greenwood += d < n ? d / (n * (n - d)) : std::numeric_limits<double>::infinity();
    }
    p.survival = survival;
    p.std_err_log = std::sqrt(greenwood);
    p.std_err = survival > 0.0 ? survival * p.std_err_log : kNaN;
    SetInterval(interval, crit, p);
    curve.points.push_back(p);
  }
  return curve;
}

absl::StatusOr<KaplanMeierCurve> KaplanMeier(absl::Span<const double> time,
                                             absl::Span<const double> event,
                                             double confidence_level, SurvivalInterval interval) {
  SCV_ASSIGN_OR_RETURN(const SurvivalCounts counts, CountSurvival(time, event));
  return KaplanMeier(counts, confidence_level, interval);
}

std::vector<int64_t> NumberAtRisk(const SurvivalCounts& counts, absl::Span<const double> times) {
  std::vector<int64_t> result;
  result.reserve(times.size());
  for (double t : times) result.push_back(counts.AtRiskAt(t));
  return result;
}

}  // namespace scancov::stats
