// Geometry helpers of the phantom painters: tubes around polylines and smooth random fields.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "sites/ct/phantom_internal.h"

namespace scancov::sites::internal {
namespace {

struct Hit {
  size_t index;
  double distance;
  double u;
};

// Nearest point of segment [a, b] to p: returns (distance, fraction along the segment).
std::pair<double, double> SegmentDistance(const Vec3& a, const Vec3& b, const Vec3& p) {
  const double vx = b.x - a.x, vy = b.y - a.y, vz = b.z - a.z;
  const double wx = p.x - a.x, wy = p.y - a.y, wz = p.z - a.z;
  const double len2 = vx * vx + vy * vy + vz * vz;
  double f = len2 > 0 ? (wx * vx + wy * vy + wz * vz) / len2 : 0.0;
  f = std::clamp(f, 0.0, 1.0);
  const double dx = wx - f * vx, dy = wy - f * vy, dz = wz - f * vz;
  return {std::sqrt(dx * dx + dy * dy + dz * dz), f};
}

double Length(const Vec3& a, const Vec3& b) {
  return std::sqrt((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y) +
                   (b.z - a.z) * (b.z - a.z));
}

}  // namespace

void VisitTube(const Canvas& canvas, const std::vector<Vec3>& polyline,
               const std::function<double(double)>& radius,
               const std::function<void(size_t, double, double)>& visit) {
  if (polyline.size() < 2) return;
  const PhantomGrid& g = canvas.grid;
  std::vector<double> cumulative(polyline.size(), 0.0);
  for (size_t s = 1; s < polyline.size(); ++s) {
    cumulative[s] = cumulative[s - 1] + Length(polyline[s - 1], polyline[s]);
  }
  const double total = std::max(cumulative.back(), 1e-9);
  double rmax = 0;
  for (int s = 0; s <= 100; ++s) rmax = std::max(rmax, radius(s / 100.0));

  std::vector<Hit> hits;
  for (size_t s = 0; s + 1 < polyline.size(); ++s) {
    const Vec3& a = polyline[s];
    const Vec3& b = polyline[s + 1];
    const double seg_len = cumulative[s + 1] - cumulative[s];
    auto to_index = [](double v, double spacing, double centre) { return v / spacing + centre; };
    const double ci = 0.5 * (g.nx - 1), cj = 0.5 * (g.ny - 1);
    const int i0 =
        std::max(0, static_cast<int>(std::floor(to_index(std::min(a.x, b.x) - rmax, g.dx, ci))));
    const int i1 = std::min(
        g.nx - 1, static_cast<int>(std::ceil(to_index(std::max(a.x, b.x) + rmax, g.dx, ci))));
    const int j0 =
        std::max(0, static_cast<int>(std::floor(to_index(std::min(a.y, b.y) - rmax, g.dy, cj))));
    const int j1 = std::min(
        g.ny - 1, static_cast<int>(std::ceil(to_index(std::max(a.y, b.y) + rmax, g.dy, cj))));
    const int k0 = std::max(0, static_cast<int>(std::floor((std::min(a.z, b.z) - rmax) / g.dz)));
    const int k1 =
        std::min(g.nz - 1, static_cast<int>(std::ceil((std::max(a.z, b.z) + rmax) / g.dz)));
    for (int k = k0; k <= k1; ++k) {
      for (int j = j0; j <= j1; ++j) {
        for (int i = i0; i <= i1; ++i) {
          const auto [d, f] = SegmentDistance(a, b, canvas.Position(k, j, i));
          if (d > rmax) continue;
          const double u = (cumulative[s] + f * seg_len) / total;
          if (d <= radius(u)) hits.push_back({g.Index(k, j, i), d, u});
        }
      }
    }
  }
  // A voxel near a joint is found by two segments: keep its nearest.
  std::sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) {
    return std::tie(x.index, x.distance) < std::tie(y.index, y.distance);
  });
  for (size_t h = 0; h < hits.size(); ++h) {
    if (h > 0 && hits[h].index == hits[h - 1].index) continue;
    visit(hits[h].index, hits[h].distance, hits[h].u);
  }
}

SmoothField::SmoothField(const PhantomGrid& grid, double cell_mm, Random& rng) {
  fx_ = grid.dx / cell_mm;
  fy_ = grid.dy / cell_mm;
  fz_ = grid.dz / cell_mm;
  cx_ = static_cast<int>(std::ceil(grid.nx * fx_)) + 2;
  cy_ = static_cast<int>(std::ceil(grid.ny * fy_)) + 2;
  cz_ = static_cast<int>(std::ceil(grid.nz * fz_)) + 2;
  lattice_.resize(static_cast<size_t>(cx_) * cy_ * cz_);
  for (float& v : lattice_) v = static_cast<float>(rng.Uniform());
}

double SmoothField::At(int k, int j, int i) const {
  const double x = i * fx_, y = j * fy_, z = k * fz_;
  const int x0 = static_cast<int>(x), y0 = static_cast<int>(y), z0 = static_cast<int>(z);
  const double ax = x - x0, ay = y - y0, az = z - z0;
  auto at = [&](int zz, int yy, int xx) {
    return lattice_[(static_cast<size_t>(zz) * cy_ + yy) * cx_ + xx];
  };
  double v = 0;
  for (int dz = 0; dz < 2; ++dz) {
    for (int dy = 0; dy < 2; ++dy) {
      for (int dx = 0; dx < 2; ++dx) {
        const double w = (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * (dz ? az : 1 - az);
        v += w * at(z0 + dz, y0 + dy, x0 + dx);
      }
    }
  }
  return v;
}

}  // namespace scancov::sites::internal
