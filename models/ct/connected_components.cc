#include "models/ct/connected_components.h"

#include <algorithm>
#include <numeric>

namespace scancov::ct {
namespace {

struct Run {
  int x0, x1;  // [x0, x1)
};

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  int Find(int a) {
    while (parent_[a] != a) {
      parent_[a] = parent_[parent_[a]];
      a = parent_[a];
    }
    return a;
  }
  void Unite(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return;
    // The smaller index becomes the root, so roots follow the order of first appearance.
    if (a < b) {
      parent_[b] = a;
    } else {
      parent_[a] = b;
    }
  }

 private:
  std::vector<int> parent_;
};

// Unites the runs of row `cur` with those of row `prev` that overlap once widened by `grow`
// voxels (0: faces only, 1: diagonals too). Both run lists are sorted by x0.
void UniteRows(const std::vector<Run>& runs, int cur_begin, int cur_end, int prev_begin,
               int prev_end, int grow, UnionFind& uf) {
  int p = prev_begin;
  for (int r = cur_begin; r < cur_end; ++r) {
    const int lo = runs[r].x0 - grow, hi = runs[r].x1 + grow;
    while (p < prev_end && runs[p].x1 <= lo) ++p;
    for (int q = p; q < prev_end && runs[q].x0 < hi; ++q) uf.Unite(r, q);
  }
}

}  // namespace

Components LabelComponents(const uint8_t* mask, int nx, int ny, int nz, Connectivity c) {
  Components out;
  const size_t n = static_cast<size_t>(nx) * ny * nz;
  out.labels.assign(n, 0);
  out.sizes.assign(1, 0);
  if (n == 0) return out;
  // Runs per row; row_start[r] .. row_start[r + 1] index `runs` for row r = k * ny + j.
  std::vector<Run> runs;
  const size_t rows = static_cast<size_t>(ny) * nz;
  std::vector<int> row_start(rows + 1, 0);
  for (size_t r = 0; r < rows; ++r) {
    row_start[r] = static_cast<int>(runs.size());
    const uint8_t* row = mask + r * nx;
    for (int i = 0; i < nx;) {
      if (!row[i]) {
        ++i;
        continue;
      }
      const int x0 = i;
      while (i < nx && row[i]) ++i;
      runs.push_back({x0, i});
    }
  }
  row_start[rows] = static_cast<int>(runs.size());
  UnionFind uf(runs.size());
  const bool full = c == Connectivity::kFull;
  const int grow = full ? 1 : 0;
  for (int k = 0; k < nz; ++k) {
    for (int j = 0; j < ny; ++j) {
      const size_t r = static_cast<size_t>(k) * ny + j;
      auto unite_with = [&](size_t prev) {
        UniteRows(runs, row_start[r], row_start[r + 1], row_start[prev], row_start[prev + 1], grow,
                  uf);
      };
      if (j > 0) unite_with(r - 1);
      if (k > 0) {
        const size_t below = r - ny;
        unite_with(below);
        if (full && j > 0) unite_with(below - 1);
        if (full && j + 1 < ny) unite_with(below + 1);
      }
    }
  }
  std::vector<int> label_of_root(runs.size(), 0);
  for (size_t r = 0; r < rows; ++r) {
    for (int q = row_start[r]; q < row_start[r + 1]; ++q) {
      const int root = uf.Find(q);
      if (label_of_root[root] == 0) {
        label_of_root[root] = ++out.count;
        out.sizes.push_back(0);
      }
      const int label = label_of_root[root];
      std::fill(out.labels.begin() + r * nx + runs[q].x0, out.labels.begin() + r * nx + runs[q].x1,
                label);
      out.sizes[label] += runs[q].x1 - runs[q].x0;
    }
  }
  return out;
}

Components LabelComponents(const LabelVolume& mask, Connectivity c) {
  return LabelComponents(mask.voxels.data(), mask.nx, mask.ny, mask.nz, c);
}

std::vector<int> LabelsBySize(const Components& components) {
  std::vector<int> order(components.count);
  std::iota(order.begin(), order.end(), 1);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return components.sizes[a] > components.sizes[b]; });
  return order;
}

}  // namespace scancov::ct
