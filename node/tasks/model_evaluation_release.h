// What a site's model evaluation (node/tasks/model_evaluation.h) may release: every count it
// sends is 0 or at least the effective minimum cell count (privacy::EffectiveMinCellCount of the
// site's policy and the study's request). The coordinator supplies the models and their
// thresholds, so without this a "high-risk" group, a risk group or a comparison could be one
// patient; a figure or table that breaks the rule is withheld with a reason code
// (wire::kBelowMinCell), never sent with a smaller number.
//
//  - confusion counts at the model's high-risk threshold: released when TP, FP, TN and FN each
//    pass, and then anchored in the ROC release (node/tasks/roc_release.h) so that no released
//    grid point sits next to the threshold and isolates the patients between them;
//  - Kaplan-Meier tables (at-risk, events and censored per time): the site coarsens the time
//    bins, trying kSurvivalBinWidths finest first, and sends the first width at which every
//    cell passes, with the width; none passing: the table is withheld;
//  - single counts (patients not scored, the patients of a paired comparison): withheld unless
//    they pass.
//
// Not covered: differences between figures that each pass (two models whose high-risk groups
// differ by one patient, a risk group's size against the ROC counts near its lower
// threshold): those need a query budget or noise, not cell suppression.
//
// Thread safety: pure functions.
#ifndef SCANCOV_NODE_TASKS_MODEL_EVALUATION_RELEASE_H_
#define SCANCOV_NODE_TASKS_MODEL_EVALUATION_RELEASE_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/survival_counts.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::node {

// The time bins a site tries for a survival table, in days, finest first: days, then 2 and 3
// days, weeks, fortnights, four weeks, then one bin for everything up to 420 days (the
// variables' range is 0..365). Each divides 420, so the grid the aggregator pools sites on (the
// least common multiple of their widths) is at most 420 days.
inline constexpr std::array<double, 7> kSurvivalBinWidths = {1, 2, 3, 7, 14, 28, 420};

// 0 or at least `min_cell` (a minimum below 1 counts as 1).
bool CountReleasable(int64_t count, int min_cell);

// Every at-risk, event and censored count of the table is releasable.
bool SurvivalCellsReleasable(const stats::SurvivalCounts& counts, int min_cell);

// TP, FP, TN and FN are each releasable.
bool ConfusionReleasable(const wire::ConfusionCounts& counts, int min_cell);

struct ReleasedSurvival {
  double bin_width = 0;  // one of kSurvivalBinWidths
  stats::SurvivalCounts counts;
};

// The table of the rows (stats::CountSurvival's contract: time >= 0, event 0/1) at the finest
// width of kSurvivalBinWidths at which SurvivalCellsReleasable holds; nullopt when there is
// none. Errors: CountSurvival's, for rows it refuses (none for no rows: nullopt).
absl::StatusOr<std::optional<ReleasedSurvival>> ReleasableSurvival(absl::Span<const double> time,
                                                                   absl::Span<const double> event,
                                                                   int min_cell);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASKS_MODEL_EVALUATION_RELEASE_H_
