// Which points of a site's ROC counts (models/stats/roc_counts.h) may leave the site.
//
// Counts at a grid are a histogram of the scores: the events and non-events between two
// neighbouring thresholds. A bin with one patient would release that patient's score (to
// within the grid step) with the outcome, and a study may choose the grid. So a site releases
// only grid points such that, walking from the lowest threshold (everybody positive, the
// totals) to beyond the highest (nobody positive), the number of events and the number of
// non-events between consecutive released points are each either 0 or at least the minimum
// cell count. Bins too small are merged with the next one (the point between them is
// withheld), greedily from the lowest threshold; then points at the top are withheld until the
// last bin, from the last released point to the implied (0, 0), obeys the rule too. The totals
// themselves are released only when both reach the minimum (the caller refuses the model
// otherwise, so they always do here).
//
// Anchors: thresholds at which the site releases other counts (the confusion counts at the
// model's high-risk threshold, node/tasks/model_evaluation.cc). Counts at an anchor and at a
// grid point near it would differ by the patients between them, however large each is; so an
// anchor is a point of the walk that is kept if it can be: on reaching it, the points released
// since the previous anchor are withheld, latest first, until the bin up to it obeys the rule,
// and the last-bin step never withholds it unless its own counts break the rule. An anchor
// whose bins cannot obey it is withheld (the caller then withholds what it anchors). With one
// anchor, it is kept exactly when its four confusion cells (TP, FP and the totals less them)
// are each 0 or at least the minimum.
//
// The released curve is a subset of the full one's points, so its trapezoidal area is that of
// a coarser grid; the aggregator pools the thresholds every site released.
#ifndef SCANCOV_NODE_ROC_RELEASE_H_
#define SCANCOV_NODE_ROC_RELEASE_H_

#include "absl/types/span.h"
#include "models/stats/roc_counts.h"

namespace scancov::node {

// `roc` restricted to the points the rule above releases, for a minimum cell count `min_cell`
// (values below 1 count as 1: every point is released). `anchors`: thresholds of `roc`'s
// points, compared exactly.
stats::GridRoc ReleasableRoc(const stats::GridRoc& roc, int min_cell,
                             absl::Span<const double> anchors = {});

}  // namespace scancov::node

#endif  // SCANCOV_NODE_ROC_RELEASE_H_
