// Internal to scancov_ct: the working canvas and the anatomy landmarks shared by the painters
// (anatomy, lesions, calcium, devices). Not part of the public API.
#ifndef SCANCOV_SITES_CT_PHANTOM_INTERNAL_H_
#define SCANCOV_SITES_CT_PHANTOM_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "core/env.h"
#include "sites/ct/phantom_spec.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::sites::internal {

// Tissue classes of the canvas (which painter may write where).
enum Tissue : uint8_t {
  kTissueAir = 0,
  kTissueFat,
  kTissueSoft,
  kTissueBone,
  kTissueMediastinum,  // mediastinal fat and vessels
  kTissueHeart,
  kTissueEpicardialFat,
  kTissueVessel,  // aorta, vena cava
  kTissueAirway,  // trachea and main bronchi (lumen and wall)
  kTissueLung,
  kTissueCalcium,
  kTissueDevice,
};

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

// Body-centred physical frame used by the painters: x, y in mm from the centre of the field of
// view (LPS directions), z in mm above the centre of slice 0. t = z / scan length in 0..1.
struct Anatomy {
  double s = 1;                       // body_scale
  double length = 1;                  // scan length (nz - 1) * dz, mm
  double body_a = 0, body_b = 0;      // body ellipse semi-axes
  double cavity_a = 0, cavity_b = 0;  // thoracic cavity (inside the ribs)
  double mediastinum_half_width = 0;
  Vec3 heart_centre, heart_radii;
  std::vector<Vec3> aorta;  // centreline, root first
  double aorta_radius = 0;
  std::vector<Vec3> svc;
  double svc_radius = 0;
  Vec3 trachea_top, carina;
  double trachea_radius = 0;
  Vec3 bronchus_end[2];  // [0] right, [1] left
  double bronchus_radius = 0;
  Vec3 hilum[2];
  double lung_apex_t = 0.95;
};

struct Canvas {
  PhantomGrid grid;
  Anatomy anatomy;
  std::vector<float> hu;
  std::vector<uint8_t> tissue;
  std::vector<uint8_t> lung;    // LungLabel
  std::vector<uint8_t> lesion;  // LesionLabel

  Vec3 Position(int k, int j, int i) const {
    return {(i - 0.5 * (grid.nx - 1)) * grid.dx, (j - 0.5 * (grid.ny - 1)) * grid.dy, k * grid.dz};
  }
};

Anatomy MakeAnatomy(const PhantomSpec& spec, const PhantomGrid& grid, Random& rng);

// The point mapped back from the narrowing apex onto the lungs' base cross-section, where the
// costal pleura lies at normalised cavity radius 0.97. Used to rank peripheral lesions.
Vec3 LungBaseCoordinates(const Anatomy& a, const Vec3& p);

// Body, bones, mediastinum, heart, aorta, airways and the two lungs (lung labels set, lesion
// labels = healthy on lung voxels). Then intrapulmonary vessels and bronchi.
void PaintAnatomy(Canvas& canvas);
void PaintLungVessels(Canvas& canvas, Random& rng);

// Lesions over each lung; exact voxel counts. Fills truth.right/left.
void PaintLesions(const DiseaseSpec& disease, Canvas& canvas, Random& rng, PhantomTruth& truth);

// Calcium deposits and devices (never on lung voxels).
void PaintCalcium(const CalciumSpec& calcium, Canvas& canvas, Random& rng, PhantomTruth& truth);
void PaintDevices(const DeviceSpec& devices, Canvas& canvas, PhantomTruth& truth);

// Visits every voxel within `radius(u)` mm of the polyline, where u in [0, 1] is the position
// along it; `visit(index, distance_mm, u)` is called once per voxel with its nearest point.
void VisitTube(const Canvas& canvas, const std::vector<Vec3>& polyline,
               const std::function<double(double)>& radius,
               const std::function<void(size_t, double, double)>& visit);

// Smooth random field in 0..1 with features of about `cell_mm`, trilinear over a coarse lattice.
class SmoothField {
 public:
  SmoothField(const PhantomGrid& grid, double cell_mm, Random& rng);
  double At(int k, int j, int i) const;

 private:
  int cx_, cy_, cz_;
  double fx_, fy_, fz_;  // voxel index -> lattice coordinate factors
  std::vector<float> lattice_;
};

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_CT_PHANTOM_INTERNAL_H_
