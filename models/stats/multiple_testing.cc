#include "models/stats/multiple_testing.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace scancov::stats {

absl::StatusOr<std::vector<double>> AdjustPValues(absl::Span<const double> p_values,
                                                  Adjustment method) {
  constexpr char kWhere[] = "AdjustPValues";
  if (p_values.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no p-values"));
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (!(p_values[i] > 0.0 && p_values[i] <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": p[", i, "] = ", p_values[i], " is not in (0, 1]"));
    }
  }
  const size_t m = p_values.size();
  const double md = static_cast<double>(m);
  std::vector<double> adjusted(m);
  if (method == Adjustment::kBonferroni) {
    for (size_t i = 0; i < m; ++i) adjusted[i] = std::min(1.0, md * p_values[i]);
    return adjusted;
  }
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
  if (method == Adjustment::kHolm) {
    // Ascending: (m - k) p_(k), made monotone non-decreasing by a running maximum.
    double running = 0.0;
    for (size_t k = 0; k < m; ++k) {
      running = std::max(running, std::min(1.0, (md - k) * p_values[order[k]]));
      adjusted[order[k]] = running;
    }
    return adjusted;
  }
  // Benjamini-Hochberg, descending: m / k * p_(k), made monotone by a running minimum.
  double running = 1.0;
  for (size_t k = m; k-- > 0;) {
    running = std::min(running, md / static_cast<double>(k + 1) * p_values[order[k]]);
    adjusted[order[k]] = running;
  }
  return adjusted;
}

}  // namespace scancov::stats
