// The Kaplan-Meier estimate of the survival function with Greenwood's variance and pointwise
// confidence intervals, computed from a SurvivalCounts table (so it is the same whether the
// table came from one site's rows or from merged site tables; see survival_counts.h).
//
// At each distinct time t_k (event or censoring only, as R's survfit lists them):
//   S(t_k) = prod_{j <= k} (1 - d_j / n_j)
//   Greenwood: var(log S) = sum_{j <= k} d_j / (n_j (n_j - d_j));  se(S) = S sqrt(var(log S))
// Intervals (SurvivalInterval), z the two-sided critical value:
//   kLog (R survival's default conf.type = "log"): S exp(-+ z se_log), upper capped at 1
//   kLogLog ("log-log"): S^exp(+- z se_log / log S), undefined (NaN) where S = 1
//   kPlain ("plain"): S -+ z se(S), clipped to [0, 1]
// Where S = 0 the variance of log S is infinite and the intervals are NaN (R gives NA).
#ifndef SCANCOV_MODELS_STATS_KAPLAN_MEIER_H_
#define SCANCOV_MODELS_STATS_KAPLAN_MEIER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/survival_counts.h"

namespace scancov::stats {

enum class SurvivalInterval { kLog, kLogLog, kPlain };

struct KaplanMeierPoint {
  double time = 0.0;
  int64_t at_risk = 0;
  int64_t events = 0;
  int64_t censored = 0;
  double survival = 1.0;
  double std_err = 0.0;      // of S (Greenwood), as R's summary(survfit)$std.err
  double std_err_log = 0.0;  // of log S, as R's survfit()$std.err
  double ci_lower = 1.0;
  double ci_upper = 1.0;
};

struct KaplanMeierCurve {
  std::vector<KaplanMeierPoint> points;  // one per distinct time, increasing
  int64_t total = 0;
  // S(t): the right-continuous step function (1 before the first time).
  double SurvivalAt(double t) const;
};

absl::StatusOr<KaplanMeierCurve> KaplanMeier(const SurvivalCounts& counts,
                                             double confidence_level = 0.95,
                                             SurvivalInterval interval = SurvivalInterval::kLog);

// Convenience on rows: CountSurvival(time, event) then the above.
absl::StatusOr<KaplanMeierCurve> KaplanMeier(absl::Span<const double> time,
                                             absl::Span<const double> event,
                                             double confidence_level = 0.95,
                                             SurvivalInterval interval = SurvivalInterval::kLog);

// The "number at risk" row under a Kaplan-Meier plot: patients with time >= t for each t.
std::vector<int64_t> NumberAtRisk(const SurvivalCounts& counts, absl::Span<const double> times);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_KAPLAN_MEIER_H_
