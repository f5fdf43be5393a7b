// NIfTI-1 single-file volumes (".nii", or ".nii.gz" compressed with zlib) for ground-truth label
// maps and HU volumes.
//
// Layout: the 348-byte NIfTI-1 header, 4 zero extension bytes, then the voxels little-endian,
// x fastest (x = column, y = row, z = slice), i.e. the same order as PhantomVolume's vectors.
// Orientation: NIfTI world coordinates are RAS+ while DICOM is LPS+, so the written affine
// (sform and qform, both code 1 "scanner") is
//   [ -dx   0   0  -origin_x ]
//   [   0 -dy   0  -origin_y ]
//   [   0   0  dz   origin_z ]
// for the phantom grid whose voxel (0,0,0) sits at LPS `origin` with axes +x (left), +y
// (posterior), +z (superior). Tools that read NIfTI (nibabel, ITK, 3D Slicer) then show the
// labels exactly over the DICOM series.
#ifndef SCANCOV_SITES_CT_NIFTI_IO_H_
#define SCANCOV_SITES_CT_NIFTI_IO_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::sites {

struct NiftiVolume {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{};              // pixdim[1..3], mm
  std::array<std::array<double, 4>, 3> srow{};  // RAS affine rows (sform)
  int datatype = 0;                             // 2 = uint8, 4 = int16
  std::vector<uint8_t> u8;                      // filled when datatype == 2
  std::vector<int16_t> i16;                     // filled when datatype == 4
};

// Writes a uint8 label map on `grid`. A path ending in ".gz" is gzip-compressed.
absl::Status WriteNiftiLabels(const std::string& path, const PhantomGrid& grid,
                              const std::vector<uint8_t>& labels, const std::string& description);
// Writes an int16 volume (e.g. HU) on `grid`.
absl::Status WriteNiftiInt16(const std::string& path, const PhantomGrid& grid,
                             const std::vector<int16_t>& values, const std::string& description);
// Reads a uint8 or int16 NIfTI-1 single file (".nii" or ".nii.gz"), little-endian only.
absl::StatusOr<NiftiVolume> ReadNifti(const std::string& path);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_NIFTI_IO_H_
