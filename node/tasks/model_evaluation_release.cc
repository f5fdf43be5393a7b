#include "node/tasks/model_evaluation_release.h"

#include <algorithm>

#include "core/status_macros.h"

namespace scancov::node {

bool CountReleasable(int64_t count, int min_cell) {
  return count == 0 || count >= std::max(min_cell, 1);
}

bool SurvivalCellsReleasable(const stats::SurvivalCounts& counts, int min_cell) {
  const auto all = [min_cell](const std::vector<int64_t>& column) {
    return std::all_of(column.begin(), column.end(),
                       [min_cell](int64_t c) { return CountReleasable(c, min_cell); });
  };
  return all(counts.at_risk) && all(counts.events) && all(counts.censored);
}

bool ConfusionReleasable(const wire::ConfusionCounts& c, int min_cell) {
  return CountReleasable(c.tp, min_cell) && CountReleasable(c.fp, min_cell) &&
         CountReleasable(c.tn, min_cell) && CountReleasable(c.fn, min_cell);
}

absl::StatusOr<std::optional<ReleasedSurvival>> ReleasableSurvival(absl::Span<const double> time,
                                                                   absl::Span<const double> event,
                                                                   int min_cell) {
  if (time.empty() && event.empty()) return std::nullopt;
  for (double width : kSurvivalBinWidths) {
    SCV_ASSIGN_OR_RETURN(stats::SurvivalCounts counts, stats::CountSurvival(time, event, width));
    if (SurvivalCellsReleasable(counts, min_cell)) {
      return ReleasedSurvival{width, std::move(counts)};
    }
  }
  return std::nullopt;
}

}  // namespace scancov::node
