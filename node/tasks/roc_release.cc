#include "node/tasks/roc_release.h"

#include <algorithm>

namespace scancov::node {

stats::GridRoc ReleasableRoc(const stats::GridRoc& roc, int min_cell,
                             absl::Span<const double> anchors) {
  const int64_t m = std::max(min_cell, 1);
  const auto ok = [m](int64_t increment) { return increment == 0 || increment >= m; };
  const auto anchored = [&anchors](double t) {
    return std::find(anchors.begin(), anchors.end(), t) != anchors.end();
  };
  stats::GridRoc out;
  out.positives = roc.positives;
  out.negatives = roc.negatives;
  // The counts at the k-th released point, the totals before the first.
  const auto tp_at = [&out](size_t k) {
    return k == 0 ? out.positives : out.points[k - 1].true_positives;
  };
  const auto fp_at = [&out](size_t k) {
    return k == 0 ? out.negatives : out.points[k - 1].false_positives;
  };
  size_t fixed = 0;  // points [0, fixed) lie up to the last anchor kept: never withheld again
  for (const stats::GridRocPoint& p : roc.points) {
    const auto bin_ok = [&](size_t k) {
      return ok(tp_at(k) - p.true_positives) && ok(fp_at(k) - p.false_positives);
    };
    if (!anchored(p.threshold)) {
      if (bin_ok(out.points.size())) out.points.push_back(p);
      continue;
    }
    // An anchor: the points since the last anchor are withheld, latest first, until the bin up
    // to it obeys the rule; when none does, the anchor is withheld instead.
    size_t keep = out.points.size();
    while (keep > fixed && !bin_ok(keep)) --keep;
    if (!bin_ok(keep)) continue;
    out.points.resize(keep);
    out.points.push_back(p);
    fixed = out.points.size();
  }
  // The last bin runs from the last released point to (0, 0): while it breaks the rule, that
  // point is withheld (an anchor too). The bins before it are left as they were; at worst no
  // point is left and the one bin is the totals.
  while (!out.points.empty() &&
         !(ok(out.points.back().true_positives) && ok(out.points.back().false_positives))) {
    out.points.pop_back();
  }
  return out;
}

}  // namespace scancov::node
