// The phantom as voxels: HU, lung labels and lesion labels on the grid of the primary series.
#ifndef SCANCOV_SITES_CT_PHANTOM_VOLUME_H_
#define SCANCOV_SITES_CT_PHANTOM_VOLUME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "sites/ct/phantom_spec.h"

namespace scancov::sites {

// Lung label map values.
enum LungLabel : uint8_t { kLungNone = 0, kLungRight = 1, kLungLeft = 2 };
// Lesion label map values (defined on lung voxels only; 0 outside the lungs).
enum LesionLabel : uint8_t {
  kLesionNone = 0,
  kLesionHealthy = 1,
  kLesionGgo = 2,
  kLesionCrazyPaving = 3,
  kLesionConsolidation = 4,
};

// Voxel grid of the primary axial series. Index (k, j, i) = (slice, row, column); the voxel's
// centre in patient coordinates (LPS, mm) is origin + i*dx*(1,0,0) + j*dy*(0,1,0) + k*dz*(0,0,1):
// column index grows towards the patient's left, row index posterior, slice index superior.
// Slice 0 is the most inferior one.
struct PhantomGrid {
  int nx = 0, ny = 0, nz = 0;
  double dx = 0, dy = 0, dz = 0;
  std::array<double, 3> origin{};  // LPS mm of voxel (0, 0, 0)
  size_t size() const { return static_cast<size_t>(nx) * ny * nz; }
  size_t Index(int k, int j, int i) const { return (static_cast<size_t>(k) * ny + j) * nx + i; }
  double VoxelVolumeMm3() const { return dx * dy * dz; }
};

// Realised ground truth (voxel counts; volumes follow from the voxel volume).
struct LungTruth {
  int64_t lung_voxels = 0;
  int64_t healthy_voxels = 0;
  int64_t ggo_voxels = 0;
  int64_t crazy_paving_voxels = 0;
  int64_t consolidation_voxels = 0;
  double requested_extent = 0;
  int64_t lesion_voxels() const { return ggo_voxels + crazy_paving_voxels + consolidation_voxels; }
  double extent() const {
    return lung_voxels ? static_cast<double>(lesion_voxels()) / lung_voxels : 0.0;
  }
};

struct CalciumTruth {
  int64_t coronary_voxels = 0;
  int64_t aortic_valve_voxels = 0;
  int64_t aorta_voxels = 0;
  int64_t total_voxels() const { return coronary_voxels + aortic_valve_voxels + aorta_voxels; }
};

struct PhantomTruth {
  LungTruth right;
  LungTruth left;
  CalciumTruth calcium;
  int64_t device_voxels = 0;
};

struct PhantomVolume {
  PhantomGrid grid;
  // HU as the DICOM files encode them (noise added, quantised by the rescale), size grid.size().
  std::vector<int16_t> hu;
  std::vector<uint8_t> lung_labels;    // LungLabel per voxel
  std::vector<uint8_t> lesion_labels;  // LesionLabel per voxel
  PhantomTruth truth;
};

// Nominal HU of the tissues before noise (a lesion's texture varies around these).
struct PhantomHu {
  static constexpr int kAir = -1000;
  static constexpr int kFat = -100;
  static constexpr int kSoftTissue = 40;
  static constexpr int kLiver = 55;
  static constexpr int kLung = -850;         // parenchyma, -880 anterior .. -820 posterior
  static constexpr int kGgo = -700;          // AI-SCoRE GGO interval [-780, -570)
  static constexpr int kCrazyPaving = -500;  // -530 with -380 septa, in [-570, -290)
  static constexpr int kConsolidation = 10;  // >= -290; -30 .. 50 texture
  static constexpr int kBoneCancellous = 450;
  static constexpr int kBoneCortical = 900;
};

// Builds the phantom. Deterministic for a given spec; fails only on an invalid spec.
absl::StatusOr<PhantomVolume> GeneratePhantomVolume(const PhantomSpec& spec);

// The grid GeneratePhantomVolume uses for a spec (no voxels).
PhantomGrid MakePhantomGrid(const ScannerSpec& scanner);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_PHANTOM_VOLUME_H_
