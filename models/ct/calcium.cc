#include "models/ct/calcium.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "models/ct/connected_components.h"
#include "models/ct/morphology.h"
#include "models/ct/parallel.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {
namespace {

struct Point {
  double x, y;
};

double Cross(const Point& o, const Point& a, const Point& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Andrew's monotone chain; returns the hull counter-clockwise without repeating the first point.
std::vector<Point> ConvexHull(std::vector<Point> p) {
  std::sort(p.begin(), p.end(),
            [](const Point& a, const Point& b) { return a.x != b.x ? a.x < b.x : a.y < b.y; });
  if (p.size() < 3) return p;
  std::vector<Point> h(2 * p.size());
  size_t k = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    while (k >= 2 && Cross(h[k - 2], h[k - 1], p[i]) <= 0) --k;
    h[k++] = p[i];
  }
  for (size_t i = p.size() - 1, t = k + 1; i > 0; --i) {
    while (k >= t && Cross(h[k - 2], h[k - 1], p[i - 1]) <= 0) --k;
    h[k++] = p[i - 1];
  }
  h.resize(k - 1);
  return h;
}

// Marks the pixels of one slice inside the convex hull of its lung pixels (row spans).
void HullSlice(const uint8_t* lungs, int nx, int ny, uint8_t* roi) {
  std::vector<Point> pts;
  for (int j = 0; j < ny; ++j) {
    // Only the first and last lung pixel of a row can be hull vertices.
    int first = -1, last = -1;
    for (int i = 0; i < nx; ++i) {
      if (lungs[j * nx + i]) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) continue;
    pts.push_back({static_cast<double>(first), static_cast<double>(j)});
    if (last != first) pts.push_back({static_cast<double>(last), static_cast<double>(j)});
  }
  if (pts.empty()) return;
  const std::vector<Point> hull = ConvexHull(pts);
  std::vector<double> lo(ny, 1e18), hi(ny, -1e18);
  const size_t n = hull.size();
  for (size_t e = 0; e < n; ++e) {
    const Point& a = hull[e];
    const Point& b = hull[(e + 1) % n];
    const int j0 = static_cast<int>(std::ceil(std::min(a.y, b.y)));
    const int j1 = static_cast<int>(std::floor(std::max(a.y, b.y)));
    for (int j = std::max(0, j0); j <= std::min(ny - 1, j1); ++j) {
      const double x =
          a.y == b.y ? std::min(a.x, b.x) : a.x + (j - a.y) * (b.x - a.x) / (b.y - a.y);
      const double x2 = a.y == b.y ? std::max(a.x, b.x) : x;
      lo[j] = std::min(lo[j], x);
      hi[j] = std::max(hi[j], x2);
    }
  }
  if (n < 3) {  // a point or a segment
    for (const Point& p : hull) {
      lo[static_cast<int>(p.y)] = std::min(lo[static_cast<int>(p.y)], p.x);
      hi[static_cast<int>(p.y)] = std::max(hi[static_cast<int>(p.y)], p.x);
    }
  }
  for (int j = 0; j < ny; ++j) {
    if (lo[j] > hi[j]) continue;
    const int i0 = std::max(0, static_cast<int>(std::ceil(lo[j] - 1e-9)));
    const int i1 = std::min(nx - 1, static_cast<int>(std::floor(hi[j] + 1e-9)));
    for (int i = i0; i <= i1; ++i) roi[j * nx + i] = lungs[j * nx + i] ? 0 : 1;
  }
}

}  // namespace

absl::StatusOr<CalciumResult> MeasureCardiovascularCalcium(const HuVolume& hu,
                                                           const LabelVolume& lungs,
                                                           const CalciumOptions& o) {
  if (!hu.SameGrid(lungs) || hu.voxels.size() != hu.size() || lungs.voxels.size() != lungs.size()) {
    return absl::InvalidArgumentError("calcium: HU volume and lung map are on different grids");
  }
  if (std::none_of(lungs.voxels.begin(), lungs.voxels.end(), [](uint8_t v) { return v != 0; })) {
    return absl::FailedPreconditionError("calcium: the lung map is empty, no mediastinal ROI");
  }
  CalciumResult r;
  r.roi = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  r.mask = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  const size_t plane = static_cast<size_t>(hu.nx) * hu.ny;
  ParallelFor(0, hu.nz, o.threads, [&](int k0, int k1) {
    for (int k = k0; k < k1; ++k) {
      HullSlice(lungs.voxels.data() + k * plane, hu.nx, hu.ny, r.roi.voxels.data() + k * plane);
    }
  });
  LabelVolume dense(hu.nx, hu.ny, hu.nz, hu.spacing);
  for (size_t v = 0; v < hu.voxels.size(); ++v) {
    dense.voxels[v] = hu.voxels[v] >= o.threshold_hu && !lungs.voxels[v];
  }
  const Components cc = LabelComponents(dense, Connectivity::kFull);
  std::vector<uint8_t> outside(cc.count + 1, 0);
  std::vector<int> peak(cc.count + 1, -32768);
  for (size_t v = 0; v < cc.labels.size(); ++v) {
    const int l = cc.labels[v];
    if (!l) continue;
    if (!r.roi.voxels[v]) outside[l] = 1;
    peak[l] = std::max<int>(peak[l], hu.voxels[v]);
  }
  // Depth of each candidate inside the ROI: its deepest voxel's distance to the component's
  // outside, from a distance transform over the ROI's bounding box.
  std::vector<float> depth2(cc.count + 1, 0.0f);
  const Box box =
      Expand(BoundingBox<uint8_t>(r.roi, [](uint8_t v) { return v != 0; }), 1, 1, 1, r.roi);
  if (!box.empty()) {
    LabelVolume outside_dense(box.nx(), box.ny(), box.nz(), hu.spacing);
    ForEachInBox(hu, box, [&](size_t c, size_t f) { outside_dense.voxels[c] = !dense.voxels[f]; });
    const Volume<float> d2 = SquaredDistanceToMask(outside_dense, /*in_plane=*/false, o.threads);
    ForEachInBox(hu, box, [&](size_t c, size_t f) {
      const int l = cc.labels[f];
      if (l && !outside[l]) depth2[l] = std::max(depth2[l], d2.voxels[c]);
    });
  }
  const float max_depth2 = static_cast<float>(0.25 * o.max_thickness_mm * o.max_thickness_mm);
  const double voxel_mm3 = hu.VoxelVolumeMm3();
  std::vector<uint8_t> keep(cc.count + 1, 0);
  for (int l = 1; l <= cc.count; ++l) {
    if (outside[l]) {
      ++r.rejected_outside_roi;
    } else if (depth2[l] > max_depth2) {
      ++r.rejected_thick;
    } else if (cc.sizes[l] * voxel_mm3 < o.min_component_mm3 &&
               peak[l] < o.small_component_min_hu) {
      ++r.rejected_small;
    } else if (peak[l] >= o.device_min_hu) {
      ++r.rejected_device;
    } else {
      keep[l] = 1;
      ++r.components;
      r.voxels += cc.sizes[l];
    }
  }
  for (size_t v = 0; v < cc.labels.size(); ++v) r.mask.voxels[v] = keep[cc.labels[v]];
  r.volume_mm3 = r.voxels * voxel_mm3;
  return r;
}

}  // namespace scancov::ct
