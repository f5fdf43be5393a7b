// The normal chest: body, fat, ribs, sternum, spine, mediastinum, heart, great vessels,
// airways, and the two lungs with their vessels and bronchi.
#include <algorithm>
#include <cmath>

#include "sites/ct/phantom_internal.h"

namespace scancov::sites::internal {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kOrganMarginMm = 4.0;   // pleura and fat between organs and lung
constexpr double kLungShoulderT = 0.70;  // lungs narrow above this towards the apex

double Sq(double v) { return v * v; }

// Which lung (kLungRight / kLungLeft) the point belongs to by shape alone, or kLungNone.
// *t_low receives the diaphragm height (as a fraction of the scan length) under the point.
// Above the shoulder the cross-section shrinks towards the lung's centre line (the apex).
double ApexWidth(const Anatomy& a, double t) {
  if (t <= kLungShoulderT) return 1.0;
  const double r = (t - kLungShoulderT) / (a.lung_apex_t - kLungShoulderT);
  return r >= 1 ? 0.0 : std::sqrt(1 - r * r);
}

uint8_t LungShape(const Anatomy& a, const Vec3& p, double* t_low) {
  const int side = p.x < 0 ? 0 : 1;  // LPS: -x is the patient's right
  const double sign = side == 0 ? -1.0 : 1.0;
  const double cx = sign * a.cavity_a * 0.5;
  const double t = p.z / a.length;
  const double w = ApexWidth(a, t);
  const double xb = w > 0 ? cx + (p.x - cx) / w : 1e9;
  const double yb = w > 0 ? p.y / w : 1e9;
  // The diaphragm: a dome under each lung, the right one higher (liver).
  const double dome = std::max(0.0, 1 - Sq((p.x - cx) / (a.cavity_a * 0.5)) - Sq(p.y / a.cavity_b));
  *t_low = 0.04 + 0.22 * dome + (side == 0 ? 0.03 : 0.0);
  if (w < 0.02 || t < *t_low) return kLungNone;
  if (Sq(xb / a.cavity_a) + Sq(yb / a.cavity_b) > Sq(0.97)) return kLungNone;
  if (sign * xb < a.mediastinum_half_width) return kLungNone;
  return side == 0 ? kLungRight : kLungLeft;
}

// Ribs, sternum and spinous process outside the cavity; returns true when bone was painted.
bool PaintChestWallBone(const Anatomy& a, const Vec3& p, float& hu, uint8_t& tissue) {
  const double s = a.s;
  const double rc = std::sqrt(Sq(p.x / a.cavity_a) + Sq(p.y / a.cavity_b));
  const double t = p.z / a.length;
  if (std::abs(p.x) < 14 * s && p.y < -a.cavity_b + 1 && p.y > -a.cavity_b - 11 * s && t > 0.3 &&
      t < 0.97) {
    hu = 600;  // sternum
  } else if (std::abs(p.x) < 5 * s && p.y > a.cavity_b - 5 * s && p.y < a.cavity_b + 22 * s) {
    hu = 700;  // spinous process
  } else if (rc >= 1.0 && rc <= 1.0 + 9 * s / a.cavity_b) {
    const double angle = std::atan2(p.y, p.x);           // -pi/2 is anterior
    if (std::abs(angle + kPi / 2) < 0.35) return false;  // costal cartilage gap
    const double band = std::fmod(p.z + 18.0 * (angle + kPi) + 1000.0, 28.0);
    if (band > 11.0) return false;  // intercostal space
    hu = 700;
  } else {
    return false;
  }
  tissue = kTissueBone;
  return true;
}

void PaintVoxel(const Anatomy& a, const Vec3& p, size_t idx, Canvas& c) {
  const double s = a.s;
  float& hu = c.hu[idx];
  uint8_t& tissue = c.tissue[idx];
  if (Sq(p.x / a.body_a) + Sq(p.y / a.body_b) > 1) return;  // air (the canvas default)
  const double fat = a.body_a - a.cavity_a - 14 * s;
  const bool inner = Sq(p.x / (a.body_a - fat)) + Sq(p.y / (a.body_b - fat)) <= 1;
  hu = inner ? PhantomHu::kSoftTissue : PhantomHu::kFat;
  tissue = inner ? kTissueSoft : kTissueFat;
  if (Sq(p.x / a.cavity_a) + Sq(p.y / a.cavity_b) > 1) {
    PaintChestWallBone(a, p, hu, tissue);
    return;
  }
  // The vertebral body: cortical shell, cancellous core, discs every 28 mm.
  const double spine_r = 17 * s;
  const double spine_d = std::hypot(p.x, p.y - (a.cavity_b - 20 * s));
  if (spine_d < spine_r) {
    const bool disc = std::fmod(p.z + 1000.0, 28.0) < 5.0;
    hu = disc ? 80
              : (spine_d > spine_r - 2.5 ? PhantomHu::kBoneCortical : PhantomHu::kBoneCancellous);
    tissue = disc ? kTissueSoft : kTissueBone;
    return;
  }
  double t_low = 0;
  const uint8_t side = LungShape(a, p, &t_low);
  if (side != kLungNone && spine_d > spine_r + kOrganMarginMm) {
    hu = static_cast<float>(PhantomHu::kLung + 30.0 * p.y / a.cavity_b);  // dependent density
    tissue = kTissueLung;
    c.lung[idx] = side;
  } else if (p.z / a.length < t_low) {
    hu = p.x < 0 ? PhantomHu::kLiver : PhantomHu::kSoftTissue;  // liver, stomach wall, spleen
    tissue = kTissueSoft;
  } else {
    hu = -90;  // mediastinal fat
    tissue = kTissueMediastinum;
  }
}

// Paints a tube organ; voxels within the margin of it that were lung become mediastinum.
void PaintTubeOrgan(Canvas& c, const std::vector<Vec3>& line, double radius, float value,
                    uint8_t tissue, double lumen_radius = -1) {
  VisitTube(
      c, line, [&](double) { return radius + kOrganMarginMm; },
      [&](size_t idx, double d, double) {
        if (c.tissue[idx] == kTissueBone) return;
        if (d <= radius) {
          c.hu[idx] = d < lumen_radius ? PhantomHu::kAir : value;
          c.tissue[idx] = tissue;
          c.lung[idx] = kLungNone;
        } else if (c.tissue[idx] == kTissueLung) {
          c.hu[idx] = -90;
          c.tissue[idx] = kTissueMediastinum;
          c.lung[idx] = kLungNone;
        }
      });
}

void PaintHeart(Canvas& c) {
  const Anatomy& a = c.anatomy;
  const PhantomGrid& g = c.grid;
  const Vec3& h = a.heart_centre;
  const Vec3& r = a.heart_radii;
  const double rmin = std::min({r.x, r.y, r.z});
  const double fat_e = Sq(1 + 6.0 / rmin);
  const double margin_e = Sq(1 + (6.0 + kOrganMarginMm) / rmin);
  for (int k = 0; k < g.nz; ++k) {
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const Vec3 p = c.Position(k, j, i);
        const double e = Sq((p.x - h.x) / r.x) + Sq((p.y - h.y) / r.y) + Sq((p.z - h.z) / r.z);
        if (e > margin_e) continue;
        const size_t idx = g.Index(k, j, i);
        const uint8_t t = c.tissue[idx];
        if (t == kTissueBone || t == kTissueAir || t == kTissueFat) continue;
        if (e <= 1) {
          c.hu[idx] = PhantomHu::kSoftTissue;  // myocardium and unenhanced blood
          c.tissue[idx] = kTissueHeart;
        } else if (e <= fat_e) {
          c.hu[idx] = PhantomHu::kFat;
          c.tissue[idx] = kTissueEpicardialFat;
        } else if (t == kTissueLung) {
          c.hu[idx] = -90;
          c.tissue[idx] = kTissueMediastinum;
        }
        c.lung[idx] = kLungNone;
      }
    }
  }
}

}  // namespace

Vec3 LungBaseCoordinates(const Anatomy& a, const Vec3& p) {
  const double cx = (p.x < 0 ? -0.5 : 0.5) * a.cavity_a;
  const double w = std::max(ApexWidth(a, p.z / a.length), 0.02);
  return {cx + (p.x - cx) / w, p.y / w, p.z};
}

Anatomy MakeAnatomy(const PhantomSpec& spec, const PhantomGrid& grid, Random& rng) {
  Anatomy a;
  const double s = spec.patient.body_scale;
  auto jitter = [&](double v, double rel) { return v * (1 + rel * (2 * rng.Uniform() - 1)); };
  a.s = s;
  a.length = std::max(1.0, (grid.nz - 1) * grid.dz);
  const double len = a.length;
  a.body_a = jitter(170 * s, 0.02);
  a.body_b = jitter(120 * s, 0.03);
  const double fat = spec.patient.fat_mm * s;
  a.cavity_a = a.body_a - fat - 14 * s;
  a.cavity_b = a.body_b - fat - 14 * s;
  a.mediastinum_half_width = 12 * s;
  a.lung_apex_t = jitter(0.95, 0.02);
  const double heart_z = std::clamp(0.2 * len, 35.0, 65.0);
  a.heart_centre = {jitter(18 * s, 0.1), -30 * s, 0.30 * len};
  a.heart_radii = {jitter(58 * s, 0.05), jitter(45 * s, 0.05), heart_z};
  const double root_z = a.heart_centre.z + 0.7 * heart_z;
  a.aorta = {{6 * s, -28 * s, root_z},
             {6 * s, -28 * s, 0.78 * len},
             {14 * s, 8 * s, 0.84 * len},
             {20 * s, 45 * s, 0.79 * len},
             {20 * s, 45 * s, -10.0}};
  a.aorta_radius = jitter(13 * s, 0.08);
  a.svc = {{-20 * s, -26 * s, 0.45 * len}, {-20 * s, -26 * s, 0.88 * len}};
  a.svc_radius = 9 * s;
  a.trachea_top = {0, 12 * s, len + 10};
  a.carina = {0, 12 * s, 0.68 * len};
  a.trachea_radius = 9 * s;
  a.bronchus_end[0] = {-42 * s, 18 * s, 0.62 * len};
  a.bronchus_end[1] = {42 * s, 20 * s, 0.60 * len};
  a.bronchus_radius = 6 * s;
  a.hilum[0] = {-52 * s, 10 * s, 0.58 * len};
  a.hilum[1] = {52 * s, 12 * s, 0.56 * len};
  return a;
}

void PaintAnatomy(Canvas& c) {
  const PhantomGrid& g = c.grid;
  const Anatomy& a = c.anatomy;
  for (int k = 0; k < g.nz; ++k) {
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        PaintVoxel(a, c.Position(k, j, i), g.Index(k, j, i), c);
      }
    }
  }
  PaintHeart(c);
  PaintTubeOrgan(c, a.aorta, a.aorta_radius, PhantomHu::kSoftTissue, kTissueVessel);
  PaintTubeOrgan(c, a.svc, a.svc_radius, PhantomHu::kSoftTissue, kTissueVessel);
  PaintTubeOrgan(c, {a.trachea_top, a.carina}, a.trachea_radius, PhantomHu::kSoftTissue,
                 kTissueAirway, a.trachea_radius - 2.0);
  for (int side = 0; side < 2; ++side) {
    PaintTubeOrgan(c, {a.carina, a.bronchus_end[side]}, a.bronchus_radius, PhantomHu::kSoftTissue,
                   kTissueAirway, a.bronchus_radius - 1.5);
  }
  for (size_t idx = 0; idx < g.size(); ++idx) {
    c.lesion[idx] = c.lung[idx] != kLungNone ? kLesionHealthy : kLesionNone;
  }
}

void PaintLungVessels(Canvas& c, Random& rng) {
  const PhantomGrid& g = c.grid;
  for (int side = 0; side < 2; ++side) {
    const uint8_t label = side == 0 ? kLungRight : kLungLeft;
    std::vector<size_t> lung_voxels;
    for (size_t idx = 0; idx < g.size(); ++idx) {
      if (c.lung[idx] == label) lung_voxels.push_back(idx);
    }
    if (lung_voxels.empty()) continue;
    auto random_point = [&]() {
      const size_t idx = lung_voxels[rng.Next() % lung_voxels.size()];
      const int i = static_cast<int>(idx % g.nx);
      const int j = static_cast<int>((idx / g.nx) % g.ny);
      const int k = static_cast<int>(idx / (static_cast<size_t>(g.nx) * g.ny));
      return c.Position(k, j, i);
    };
    const Vec3 hilum = c.anatomy.hilum[side];
    auto paint = [&](const Vec3& from, const Vec3& to, double r0, double r1, float value) {
      VisitTube(
          c, {from, to}, [&](double u) { return r0 + (r1 - r0) * u; },
          [&](size_t idx, double, double) {
            if (c.lung[idx] == label) c.hu[idx] = value;
          });
    };
    const double s = c.anatomy.s;
    for (int b = 0; b < 4; ++b) {  // bronchi first; vessels run beside and over them
      paint(hilum, random_point(), 3.0 * s, 1.5 * s, PhantomHu::kAir);
    }
    for (int b = 0; b < 8; ++b) {
      const Vec3 end = random_point();
      paint(hilum, end, 4.5 * s, 1.5 * s, PhantomHu::kSoftTissue);
      for (int child = 0; child < 2; ++child) {
        const double f = 0.3 + 0.4 * rng.Uniform();
        const Vec3 mid{hilum.x + f * (end.x - hilum.x), hilum.y + f * (end.y - hilum.y),
                       hilum.z + f * (end.z - hilum.z)};
        paint(mid, random_point(), 2.5 * s, 1.0 * s, PhantomHu::kSoftTissue);
      }
    }
  }
}

}  // namespace scancov::sites::internal
