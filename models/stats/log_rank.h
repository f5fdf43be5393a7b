// The log-rank test comparing survival between G >= 2 groups, plain or stratified, computed
// from per-group SurvivalCounts so that it can be federated exactly:
//
//  - A stratum (e.g. one site) contributes a LogRankSummary: per group, observed events O_g,
//    expected events E_g = sum_t d_t n_gt / n_t, and the hypergeometric covariance
//    V_gh = sum_t d_t (n_t - d_t) / (n_t - 1) * n_gt / n_t * (delta_gh - n_ht / n_t).
//    These are G + G + G*G numbers: the only thing a site sends for the stratified test.
//  - Summing the summaries of all strata and forming (O - E)' V^- (O - E) on the first G - 1
//    groups gives the stratified log-rank chi-square with G - 1 degrees of freedom:
//    R's survdiff(Surv(time, status) ~ group + strata(site)).
//  - The unstratified (pooled) test is the summary of the merged tables
//    (MergeSurvivalCounts per group across sites): survdiff(Surv(time, status) ~ group).
//
// Errors: InvalidArgument for malformed input; FailedPrecondition when there is no event or
// the covariance is singular (e.g. a group with nobody at risk at any event time).
#ifndef SCANCOV_MODELS_STATS_LOG_RANK_H_
#define SCANCOV_MODELS_STATS_LOG_RANK_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/survival_counts.h"

namespace scancov::stats {

// One stratum's contribution; plain vectors so that it serialises directly (summary_json.h).
struct LogRankSummary {
  std::vector<double> observed;    // G
  std::vector<double> expected;    // G
  std::vector<double> covariance;  // G*G, row-major
};

struct LogRankResult {
  std::vector<double> observed;
  std::vector<double> expected;
  double chi_square = 0.0;
  double degrees_of_freedom = 0.0;
  double p_value = 1.0;
};

// The contribution of one stratum whose group g has table groups[g] (an empty table is a
// group absent from this stratum). Needs G >= 2 groups.
absl::StatusOr<LogRankSummary> LogRankContribution(absl::Span<const SurvivalCounts> groups);

// Sums the strata (all with the same G) and tests.
absl::StatusOr<LogRankResult> LogRankFromSummaries(absl::Span<const LogRankSummary> strata);

// Convenience on rows: `group` holds integer codes 0..G-1 (G = max + 1). Unstratified.
absl::StatusOr<LogRankResult> LogRankTest(absl::Span<const double> time,
                                          absl::Span<const double> event,
                                          absl::Span<const int> group);

// Stratified on rows: `stratum` holds any integer codes.
absl::StatusOr<LogRankResult> StratifiedLogRankTest(absl::Span<const double> time,
                                                    absl::Span<const double> event,
                                                    absl::Span<const int> group,
                                                    absl::Span<const int> stratum);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_LOG_RANK_H_
