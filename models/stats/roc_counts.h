// ROC curves at a fixed threshold grid: counts a site can release and an aggregator can sum.
//
// A site's exact ROC curve has one point per distinct score, so its thresholds are its
// patients' scores. Counting instead at a grid known in advance (e.g. 0.00, 0.01, ..., 1.00
// for probabilities, every integer for a points score) gives the same-shaped aggregate at every
// site: the counts add up across sites exactly, and the pooled curve is the curve of the pooled
// patients at those thresholds. On a fine grid its trapezoidal area approaches the exact pooled
// AUC (ties within a grid step count as half, as the trapezoid rule does for tied scores).
//
// Convention as in classification_metrics.h: positive when score >= threshold.
#ifndef SCANCOV_MODELS_STATS_ROC_COUNTS_H_
#define SCANCOV_MODELS_STATS_ROC_COUNTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "nlohmann/json.hpp"

namespace scancov::stats {

struct GridRocPoint {
  double threshold = 0.0;
  int64_t true_positives = 0;   // events with score >= threshold
  int64_t false_positives = 0;  // non-events with score >= threshold
};

// The most patients per class a curve may count: far above any cohort, and low enough that
// the sums over any number of sites a study can hold cannot overflow int64.
inline constexpr int64_t kMaxRocClassSize = int64_t{1} << 40;

// Invariant (checked by ValidateGridRoc): class sizes in [0, kMaxRocClassSize], thresholds
// finite and strictly increasing, counts non-increasing along the grid and within
// [0, positives] / [0, negatives].
struct GridRoc {
  int64_t positives = 0;
  int64_t negatives = 0;
  std::vector<GridRocPoint> points;
};

// The grid of `steps` + 1 evenly spaced thresholds from `from` to `to`, each computed as
// from + k * (to - from) / steps, so every caller gets bit-identical thresholds.
std::vector<double> EvenGrid(double from, double to, int steps);

// Counts at each threshold of `grid` (finite, strictly increasing, non-empty). Errors:
// InvalidArgument for a bad grid, mismatched sizes, non-finite scores or labels not 0/1.
absl::StatusOr<GridRoc> RocAtGrid(absl::Span<const double> scores, absl::Span<const double> labels,
                                  absl::Span<const double> grid);

absl::Status ValidateGridRoc(const GridRoc& roc);

// The sum of curves counted on the same grid (InvalidArgument "roc part k: ..." otherwise).
absl::StatusOr<GridRoc> SumGridRocs(absl::Span<const GridRoc> parts);

// Each part restricted to the thresholds that every part has, so that curves whose sites
// released different subsets of one grid (node/roc_release.h) can be summed. Thresholds are
// compared exactly: every site computes the grid the same way.
std::vector<GridRoc> OnCommonThresholds(absl::Span<const GridRoc> parts);

// Area under the curve through (1, 1), the grid points as (FPR, TPR), and (0, 0), by the
// trapezoid rule. FailedPrecondition without positives or negatives.
absl::StatusOr<double> TrapezoidalAuc(const GridRoc& roc);

// {"positives": P, "negatives": N, "points": [{"threshold": t, "tp": a, "fp": b}, ...]}
nlohmann::json ToJson(const GridRoc& roc);
// Never throws; InvalidArgument for a missing field or wrong type, or a curve that breaks the
// invariant above.
absl::StatusOr<GridRoc> GridRocFromJson(const nlohmann::json& j);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_ROC_COUNTS_H_
