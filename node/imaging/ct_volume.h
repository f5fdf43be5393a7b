// A decoded CT series: HU voxels on a regular grid in patient coordinates, with pseudonymous keys.
#ifndef SCANCOV_NODE_IMAGING_CT_VOLUME_H_
#define SCANCOV_NODE_IMAGING_CT_VOLUME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace scancov::node {

// Voxel (k, j, i) = (slice, row, column) is hu[(k * ny + j) * nx + i]. Its centre in DICOM
// patient coordinates (LPS, mm) is
//   origin + i * spacing[0] * row_direction + j * spacing[1] * column_direction
//          + k * spacing[2] * slice_direction
// where row_direction = direction[0..2] (along a row, i.e. ImageOrientationPatient[0..2]),
// column_direction = direction[3..5] (ImageOrientationPatient[3..5]) and slice_direction =
// direction[6..8] = their cross product; slices are sorted so that k grows along it.
// For a standard axial series: x to the patient's left, y posterior, z superior (k = 0 at
// the feet end).
struct CtVolume {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{};    // mm: column spacing, row spacing, slice spacing
  std::array<double, 3> origin{};     // LPS mm of voxel (0, 0, 0)
  std::array<double, 9> direction{};  // row, column, slice unit vectors
  std::vector<int16_t> hu;            // Hounsfield units, clamped to int16

  // Pseudonymous keys (privacy::Pseudonymizer): the patient (from PatientID), the study and
  // the series (from their instance UIDs). Never the identifiers themselves.
  std::string patient_key;
  std::string study_key;
  std::string series_key;
  int slice_count = 0;  // == nz

  size_t size() const { return static_cast<size_t>(nx) * ny * nz; }
  size_t Index(int k, int j, int i) const { return (static_cast<size_t>(k) * ny + j) * nx + i; }
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_CT_VOLUME_H_
