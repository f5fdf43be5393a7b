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
// The released curve is a subset of the full one's points, so its trapezoidal area is that of
// a coarser grid; the aggregator pools the thresholds every site released.
#ifndef SCANCOV_NODE_ROC_RELEASE_H_
#define SCANCOV_NODE_ROC_RELEASE_H_

#include "models/stats/roc_counts.h"

namespace scancov::node {

// `roc` restricted to the points the rule above releases, for a minimum cell count `min_cell`
// (values below 1 count as 1: every point is released).
stats::GridRoc ReleasableRoc(const stats::GridRoc& roc, int min_cell);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_ROC_RELEASE_H_
