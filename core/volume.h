// Volume<T>: a dense 3-D grid of voxels in (slice, row, column) order, with its spacing and its
// placement in patient coordinates. The plain type that imaging code passes between rooms
// (node/imaging decodes DICOM into CT volumes, sites/ct writes phantoms, models/ct and models/nn
// compute on them) without any of them depending on another. A CT is a HuVolume; who the
// series belongs to (pseudonymous patient, study and series keys) is not part of it but of its
// owner (node::CtSeries, node/imaging/ct_series.h).
//
// Voxel (k, j, i) = (slice, row, column) is voxels[(k * ny + j) * nx + i]. Its centre in DICOM
// patient coordinates (LPS, mm) is PointAt(k, j, i) =
//   origin + i * spacing[0] * row_direction + j * spacing[1] * column_direction
//          + k * spacing[2] * slice_direction
// where row_direction = direction[0..2] (along a row, i.e. ImageOrientationPatient[0..2]),
// column_direction = direction[3..5] (ImageOrientationPatient[3..5]) and slice_direction =
// direction[6..8] = their cross product; the slice index k grows along it. For a standard axial
// series: x to the patient's left, y posterior, z superior (k = 0 at the feet end).
//
// A volume built from sizes and spacing alone sits at the default placement (origin 0, identity
// directions). Code that derives a new grid from another (resampling, cropping) states whether
// it carries the placement over; SameGrid compares the voxel grid only (sizes and spacing).
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
  std::array<double, 3> origin{0.0, 0.0, 0.0};   // LPS mm of the centre of voxel (0, 0, 0)
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row, column, slice unit vectors
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
  // Same grid (sizes and spacing) as `other`; the placement is not compared.
  template <typename U>
  bool SameGrid(const Volume<U>& other) const {
    return nx == other.nx && ny == other.ny && nz == other.nz && spacing == other.spacing;
  }
  // LPS mm of the point at (fractional) voxel index (k, j, i); see the file comment.
  std::array<double, 3> PointAt(double k, double j, double i) const {
    std::array<double, 3> p = origin;
    for (int a = 0; a < 3; ++a) {
      p[a] += i * spacing[0] * direction[a] + j * spacing[1] * direction[3 + a] +
              k * spacing[2] * direction[6 + a];
    }
    return p;
  }
  // Takes the placement (origin, directions) of `other`.
  template <typename U>
  void PlaceLike(const Volume<U>& other) {
    origin = other.origin;
    direction = other.direction;
  }
};

using HuVolume = Volume<int16_t>;
using LabelVolume = Volume<uint8_t>;

}  // namespace scancov

#endif  // SCANCOV_CORE_VOLUME_H_
