#include "privacy/cell_suppression.h"

#include <cstddef>
#include <numeric>

namespace scancov::privacy {

bool CountReleasable(int64_t count, int64_t total, int64_t k) {
  const int64_t rest = total - count;
  return (count == 0 || count >= k) && (rest == 0 || rest >= k);
}

std::vector<bool> SuppressSmallCells(const std::vector<int64_t>& counts, int64_t k) {
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  std::vector<bool> suppressed(counts.size(), false);
  for (size_t i = 0; i < counts.size(); ++i) {
    suppressed[i] = !CountReleasable(counts[i], total, k);
  }
  // Secondary suppression: the suppressed cells' sum is known (the total minus the released
  // cells), so it must be 0 or at least k and must not single out one non-zero cell.
  while (true) {
    int64_t hidden = 0;
    int hidden_cells = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      if (suppressed[i] && counts[i] > 0) {
        hidden += counts[i];
        ++hidden_cells;
      }
    }
    if (hidden == 0 || (hidden >= k && hidden_cells != 1)) break;
    size_t smallest = counts.size();
    for (size_t i = 0; i < counts.size(); ++i) {
      if (!suppressed[i] && counts[i] > 0 &&
          (smallest == counts.size() || counts[i] < counts[smallest])) {
        smallest = i;
      }
    }
    if (smallest == counts.size()) break;  // every non-zero cell is suppressed already
    suppressed[smallest] = true;
  }
  return suppressed;
}

}  // namespace scancov::privacy
