// Volume<T>: a dense 3-D grid of voxels in (slice, row, column) order, with its spacing. The
// plain type that imaging code passes between rooms (node/imaging decodes DICOM into CT
// volumes, sites/ct writes phantoms, models/ct and models/nn compute on them) without any of
// them depending on another.
//
// Voxel (k, j, i) = (slice, row, column) is voxels[(k * ny + j) * nx + i]; the slice index k
// grows along the slice normal. Geometry beyond spacing (origin, orientation) stays with the
// owner of the series (e.g. node::CtVolume).
#ifndef SCANCOV_CORE_VOLUME_H_
#define SCANCOV_CORE_VOLUME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace scancov {

template <typename T>
struct Volume {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm: column, row, slice
  std::vector<T> voxels;

  Volume() = default;
  Volume(int nx_, int ny_, int nz_, std::array<double, 3> spacing_, T fill = T())
      : nx(nx_),
        ny(ny_),
        nz(nz_),
        spacing(spacing_),
        voxels(static_cast<size_t>(nx_) * ny_ * nz_, fill) {}

  size_t size() const { return static_cast<size_t>(nx) * ny * nz; }
  size_t Index(int k, int j, int i) const { return (static_cast<size_t>(k) * ny + j) * nx + i; }
  T& at(int k, int j, int i) { return voxels[Index(k, j, i)]; }
  const T& at(int k, int j, int i) const { return voxels[Index(k, j, i)]; }
  double VoxelVolumeMm3() const { return spacing[0] * spacing[1] * spacing[2]; }
  // Same grid (sizes and spacing) as `other`.
  template <typename U>
  bool SameGrid(const Volume<U>& other) const {
    return nx == other.nx && ny == other.ny && nz == other.nz && spacing == other.spacing;
  }
};

using HuVolume = Volume<int16_t>;
using LabelVolume = Volume<uint8_t>;

}  // namespace scancov

#endif  // SCANCOV_CORE_VOLUME_H_
