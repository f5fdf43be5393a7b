#include "models/ct/lung_split.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "models/ct/connected_components.h"
#include "models/ct/morphology.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {
namespace {

// Mean column (in the full grid) of each component label.
std::vector<double> MeanColumns(const Components& cc, const Box& box, int nx, int ny) {
  std::vector<double> sum(cc.count + 1, 0.0);
  for (size_t v = 0; v < cc.labels.size(); ++v) {
    if (cc.labels[v]) sum[cc.labels[v]] += box.i0 + static_cast<int>(v % nx);
  }
  for (int l = 1; l <= cc.count; ++l) sum[l] /= static_cast<double>(cc.sizes[l]);
  return sum;
}

// Geodesic assignment: breadth-first from the labelled cores through the unlabelled voxels of
// `inside`; `labels` holds 1 / 2 on the cores and 0 elsewhere.
void GrowCores(const LabelVolume& inside, LabelVolume& labels) {
  const int nx = inside.nx, ny = inside.ny, nz = inside.nz;
  const size_t plane = static_cast<size_t>(nx) * ny;
  std::deque<size_t> queue;
  for (size_t v = 0; v < labels.voxels.size(); ++v) {
    if (labels.voxels[v]) queue.push_back(v);
  }
  while (!queue.empty()) {
    const size_t v = queue.front();
    queue.pop_front();
    const int i = static_cast<int>(v % nx);
    const int j = static_cast<int>((v / nx) % ny);
    const int k = static_cast<int>(v / plane);
    auto visit = [&](size_t n) {
      if (inside.voxels[n] && !labels.voxels[n]) {
        labels.voxels[n] = labels.voxels[v];
        queue.push_back(n);
      }
    };
    if (i > 0) visit(v - 1);
    if (i + 1 < nx) visit(v + 1);
    if (j > 0) visit(v - nx);
    if (j + 1 < ny) visit(v + nx);
    if (k > 0) visit(v - plane);
    if (k + 1 < nz) visit(v + plane);
  }
}

}  // namespace

SplitResult SplitFusedLungs(const LabelVolume& component, double midline_column,
                            bool left_at_high_column, const SplitOptions& o) {
  SplitResult r;
  r.labels = LabelVolume(component.nx, component.ny, component.nz, component.spacing);
  const Box tight = BoundingBox<uint8_t>(component, [](uint8_t v) { return v != 0; });
  if (tight.empty()) return r;
  const Box box = Expand(tight, 1, 1, 1, component);
  const LabelVolume inside = Crop(component, box);
  LabelVolume background(inside.nx, inside.ny, inside.nz, inside.spacing);
  for (size_t v = 0; v < inside.voxels.size(); ++v) background.voxels[v] = inside.voxels[v] ? 0 : 1;
  const Volume<float> d2 = SquaredDistanceToMask(background, /*in_plane=*/false, o.threads);
  const double step =
      o.step_mm > 0 ? o.step_mm
                    : std::min({component.spacing[0], component.spacing[1], component.spacing[2]});
  const uint8_t low_side = left_at_high_column ? 1 : 2;  // label of the lower-column lung
  const uint8_t high_side = left_at_high_column ? 2 : 1;
  LabelVolume cores(inside.nx, inside.ny, inside.nz, inside.spacing);
  for (double radius = step; radius <= o.max_radius_mm && !r.by_erosion; radius += step) {
    const float r2 = static_cast<float>(radius * radius);
    LabelVolume eroded(inside.nx, inside.ny, inside.nz, inside.spacing);
    for (size_t v = 0; v < eroded.voxels.size(); ++v) {
      eroded.voxels[v] = inside.voxels[v] && d2.voxels[v] > r2 ? 1 : 0;
    }
    const Components cc = LabelComponents(eroded, Connectivity::kFace);
    if (cc.count < 2) {
      if (cc.count == 0) break;
      continue;
    }
    const std::vector<int> order = LabelsBySize(cc);
    const int a = order[0], b = order[1];
    if (cc.sizes[b] < o.min_part_ratio * cc.sizes[a]) continue;
    const std::vector<double> col = MeanColumns(cc, box, inside.nx, inside.ny);
    if ((col[a] - midline_column) * (col[b] - midline_column) >= 0) continue;
    const int low = col[a] < col[b] ? a : b;
    for (size_t v = 0; v < cc.labels.size(); ++v) {
      const int l = cc.labels[v];
      cores.voxels[v] = l == low ? low_side : (l == (low == a ? b : a) ? high_side : 0);
    }
    r.by_erosion = true;
    r.erosion_mm = radius;
  }
  if (r.by_erosion) {
    GrowCores(inside, cores);
  } else {
    for (size_t v = 0; v < cores.voxels.size(); ++v) {
      if (!inside.voxels[v]) continue;
      const int i = box.i0 + static_cast<int>(v % inside.nx);
      cores.voxels[v] = i < midline_column ? low_side : high_side;
    }
  }
  ForEachInBox(component, box, [&](size_t c, size_t f) { r.labels.voxels[f] = cores.voxels[c]; });
  return r;
}

}  // namespace scancov::ct
