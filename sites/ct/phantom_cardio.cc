// Cardiovascular calcium (coronary arteries, aortic valve, thoracic aorta) and devices
// (endotracheal tube, central venous catheter). Neither is ever painted on a lung voxel.
#include <algorithm>
#include <cmath>

#include "sites/ct/phantom_internal.h"

namespace scancov::sites::internal {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Candidate {
  size_t index;
  double arc_mm;  // position along the structure
  double distance_mm;
};

bool MayCalcify(uint8_t tissue) {
  return tissue == kTissueHeart || tissue == kTissueEpicardialFat || tissue == kTissueVessel ||
         tissue == kTissueMediastinum || tissue == kTissueSoft;
}

// A curve on the heart surface: theta (in-plane angle, -90 deg anterior) and phi (elevation)
// move linearly from the first to the second value.
std::vector<Vec3> HeartCurve(const Anatomy& a, double theta0, double theta1, double phi0,
                             double phi1) {
  std::vector<Vec3> line;
  const Vec3& c = a.heart_centre;
  const Vec3& r = a.heart_radii;
  for (int n = 0; n <= 40; ++n) {
    const double f = n / 40.0;
    const double th = (theta0 + f * (theta1 - theta0)) * kPi / 180;
    const double ph = phi0 + f * (phi1 - phi0);
    line.push_back({c.x + 1.06 * r.x * std::cos(ph) * std::cos(th),
                    c.y + 1.06 * r.y * std::cos(ph) * std::sin(th),
                    c.z + 1.06 * r.z * std::sin(ph)});
  }
  return line;
}

// Appends the voxels within [rmin, rmax] mm of the curve; arc positions start at arc_offset.
void Collect(const Canvas& c, const std::vector<Vec3>& line, double rmin, double rmax,
             double arc_offset, std::vector<Candidate>& out) {
  double length = 0;
  for (size_t s = 1; s < line.size(); ++s) {
    length +=
        std::hypot(line[s].x - line[s - 1].x, line[s].y - line[s - 1].y, line[s].z - line[s - 1].z);
  }
  VisitTube(
      c, line, [&](double) { return rmax; },
      [&](size_t idx, double d, double u) {
        if (d >= rmin && MayCalcify(c.tissue[idx]))
          out.push_back({idx, arc_offset + u * length, d});
      });
}

// Calcifies round(volume / voxel volume) candidates clustered around random plaque centres.
int64_t Calcify(Canvas& c, std::vector<Candidate> candidates, double volume_mm3, Random& rng) {
  const int64_t wanted = std::llround(volume_mm3 / c.grid.VoxelVolumeMm3());
  const int64_t n = std::min<int64_t>(wanted, static_cast<int64_t>(candidates.size()));
  if (n <= 0) return 0;
  std::vector<double> plaques(static_cast<size_t>(std::max<int64_t>(1, n / 6)));
  for (double& p : plaques) p = candidates[rng.Next() % candidates.size()].arc_mm;
  std::vector<std::pair<double, size_t>> keyed;
  for (const Candidate& cand : candidates) {
    double nearest = 1e18;
    for (double p : plaques) nearest = std::min(nearest, std::abs(cand.arc_mm - p));
    keyed.emplace_back(nearest + 0.5 * cand.distance_mm, cand.index);
  }
  std::sort(keyed.begin(), keyed.end());
  int64_t painted = 0;
  for (size_t m = 0; m < keyed.size() && painted < n; ++m) {
    const size_t idx = keyed[m].second;
    if (c.tissue[idx] == kTissueCalcium) continue;  // found by two crossing curves
    c.hu[idx] = static_cast<float>(350 + 250 * rng.Uniform());
    c.tissue[idx] = kTissueCalcium;
    ++painted;
  }
  return painted;
}

}  // namespace

void PaintCalcium(const CalciumSpec& calcium, Canvas& c, Random& rng, PhantomTruth& truth) {
  const Anatomy& a = c.anatomy;
  const PhantomGrid& g = c.grid;
  // Thin structures must still cross at least one voxel centre per slice.
  const double reach = std::max(2.5, 0.55 * std::max({g.dx, g.dy, g.dz}));
  if (calcium.coronary_mm3 > 0) {
    std::vector<Candidate> cand;
    Collect(c, HeartCurve(a, -100, -50, 0.5, -0.7), 0, reach, 0, cand);     // LAD
    Collect(c, HeartCurve(a, -60, 40, 0.45, 0.45), 0, reach, 1000, cand);   // LCx
    Collect(c, HeartCurve(a, -110, -220, 0.4, 0.4), 0, reach, 2000, cand);  // RCA
    truth.calcium.coronary_voxels = Calcify(c, std::move(cand), calcium.coronary_mm3, rng);
  }
  if (calcium.aortic_valve_mm3 > 0) {
    std::vector<Vec3> ring;
    const Vec3 root = a.aorta.front();
    const double r = 0.85 * a.aorta_radius;
    for (int n = 0; n <= 24; ++n) {
      const double th = 2 * kPi * n / 24;
      ring.push_back({root.x + r * std::cos(th), root.y + r * std::sin(th), root.z + 4});
    }
    std::vector<Candidate> cand;
    Collect(c, ring, 0, reach, 0, cand);
    truth.calcium.aortic_valve_voxels = Calcify(c, std::move(cand), calcium.aortic_valve_mm3, rng);
  }
  if (calcium.aorta_mm3 > 0) {
    std::vector<Candidate> cand;
    Collect(c, a.aorta, a.aorta_radius - 3.0, a.aorta_radius + 0.5 * reach, 0, cand);
    truth.calcium.aorta_voxels = Calcify(c, std::move(cand), calcium.aorta_mm3, rng);
  }
}

void PaintDevices(const DeviceSpec& devices, Canvas& c, PhantomTruth& truth) {
  const Anatomy& a = c.anatomy;
  const PhantomGrid& g = c.grid;
  const double s = a.s;
  auto paint = [&](size_t idx, float value) {
    if (c.lung[idx] != kLungNone || c.tissue[idx] == kTissueBone) return;
    if (c.tissue[idx] != kTissueDevice) ++truth.device_voxels;
    c.hu[idx] = value;
    c.tissue[idx] = kTissueDevice;
  };
  if (devices.endotracheal_tube) {
    const double r_out = 6.0 * s;
    const double wall = std::max(2.0, 0.75 * std::min(g.dx, g.dy));
    const Vec3 tip{a.carina.x, a.carina.y, a.carina.z + 0.05 * a.length};
    VisitTube(
        c, {a.trachea_top, tip}, [&](double) { return r_out; },
        [&](size_t idx, double d, double) {
          if (d < r_out - wall) return;  // the lumen stays air
          const size_t j = (idx / g.nx) % g.ny;
          const double y = (j - 0.5 * (g.ny - 1)) * g.dy;
          // A radio-opaque line along the anterior wall, the rest plastic.
          paint(idx, y < a.carina.y - 0.6 * r_out ? 1200.0f : 300.0f);
        });
  }
  if (devices.central_catheter) {
    const double r = std::max(1.2, 0.5 * std::min(g.dx, g.dy) + 0.05);
    const std::vector<Vec3> line = {{-12 * s, -45 * s, a.length + 5},
                                    {a.svc.front().x, a.svc.front().y, 0.85 * a.length},
                                    {a.svc.front().x, a.svc.front().y, 0.50 * a.length}};
    VisitTube(
        c, line, [&](double) { return r; },
        [&](size_t idx, double, double) { paint(idx, 1500.0f); });
  }
}

}  // namespace scancov::sites::internal
