#include "node/tasks/roc_release.h"

#include <algorithm>

namespace scancov::node {

stats::GridRoc ReleasableRoc(const stats::GridRoc& roc, int min_cell) {
  const int64_t m = std::max(min_cell, 1);
  const auto ok = [m](int64_t increment) { return increment == 0 || increment >= m; };
  stats::GridRoc out;
  out.positives = roc.positives;
  out.negatives = roc.negatives;
  int64_t tp = roc.positives, fp = roc.negatives;  // the last released point: first the totals
  for (const stats::GridRocPoint& p : roc.points) {
    if (ok(tp - p.true_positives) && ok(fp - p.false_positives)) {
      out.points.push_back(p);
      tp = p.true_positives;
      fp = p.false_positives;
    }
  }
  // The last bin runs from the last released point to (0, 0): while it breaks the rule, that
  // point is withheld. The bins before it are left as they were; at worst no point is left
  // and the one bin is the totals.
  while (!out.points.empty() &&
         !(ok(out.points.back().true_positives) && ok(out.points.back().false_positives))) {
    out.points.pop_back();
  }
  return out;
}

}  // namespace scancov::node
