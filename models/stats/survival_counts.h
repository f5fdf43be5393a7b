// The counts that Kaplan-Meier and the log-rank test are made of: for each distinct time, how
// many were at risk just before it, how many had the event and how many were censored. A site
// computes these from its rows (CountSurvival) and may send them; the coordinator merges the
// tables of several sites (MergeSurvivalCounts) and gets exactly the pooled table, so the
// pooled Kaplan-Meier curve and log-rank test follow without any row leaving a site.
//
// Privacy trade-off (for the data steward): the table reveals every distinct event and
// censoring time of the site and how many patients share it. A site that does not want to
// reveal exact times can coarsen them first (`bin_width` > 0: each time is rounded up to the
// end of its bin, e.g. whole weeks). Coarsening changes the estimates (more ties), identically
// for the federated and the pooled computation when every site uses the same bins. Sites that
// chose different widths are combined on a common coarser grid: CommonBinWidth gives the finest
// one (the least common multiple of whole-unit widths) and CoarsenSurvivalCounts re-bins each
// table onto it, exactly as if the rows had been counted at that width.
#ifndef SCANCOV_MODELS_STATS_SURVIVAL_COUNTS_H_
#define SCANCOV_MODELS_STATS_SURVIVAL_COUNTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

// Invariants (ValidateSurvivalCounts): equal lengths; times finite, >= 0, strictly
// increasing; counts >= 0; events + censored > 0 at every time; at_risk[0] is the total and
// at_risk[k + 1] = at_risk[k] - events[k] - censored[k], ending at 0 after the last time.
// An empty table (no patients) is valid.
struct SurvivalCounts {
  std::vector<double> times;
  std::vector<int64_t> at_risk;
  std::vector<int64_t> events;
  std::vector<int64_t> censored;

  int64_t total() const { return at_risk.empty() ? 0 : at_risk.front(); }
  // Number still at risk at time t (time >= t): the "number at risk" row of a KM plot.
  int64_t AtRiskAt(double t) const;
};

absl::Status ValidateSurvivalCounts(const SurvivalCounts& counts);

// From rows: `time` >= 0 and finite, `event` 1 (event) or 0 (censored). With bin_width > 0
// times are first rounded up to a multiple of bin_width. Errors: InvalidArgument.
absl::StatusOr<SurvivalCounts> CountSurvival(absl::Span<const double> time,
                                             absl::Span<const double> event,
                                             double bin_width = 0.0);

// The table of the union of the sites' patients: union of times, counts summed, at-risk
// summed (a site with no time at t contributes the patients it still has at risk).
absl::StatusOr<SurvivalCounts> MergeSurvivalCounts(absl::Span<const SurvivalCounts> sites);

// The same patients with every time rounded up to a multiple of `bin_width` (finite, > 0).
// When the table's times are exact, or were rounded up to a width that divides `bin_width`,
// this is exactly CountSurvival(time, event, bin_width) of the rows (ceil(ceil(t/w)/k) =
// ceil(t/(k w)) for whole k). InvalidArgument for an invalid table or width.
absl::StatusOr<SurvivalCounts> CoarsenSurvivalCounts(const SurvivalCounts& counts,
                                                     double bin_width);

// The finest width whose grid every grid of `widths` coarsens onto: their least common
// multiple. Each width must be a whole number in 1..max_width; InvalidArgument otherwise, or
// when the multiple exceeds max_width (no common grid fine enough to be worth drawing), or
// when `widths` is empty.
absl::StatusOr<double> CommonBinWidth(absl::Span<const double> widths, double max_width);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_SURVIVAL_COUNTS_H_
