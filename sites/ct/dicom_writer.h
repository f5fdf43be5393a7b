// Writes a phantom as real DICOM files with DCMTK: CT Image Storage, one file per image.
//
// The primary series is axial (ImageType ORIGINAL\PRIMARY\AXIAL, series number 2); on request a
// coronal localizer (ORIGINAL\PRIMARY\LOCALIZER, series 1) and a 2x thicker axial
// reconstruction (series 3) are written to the same study. Geometry: ImageOrientationPatient
// 1\0\0\0\1\0, ImagePositionPatient of each slice from PhantomGrid (LPS), PixelSpacing,
// SliceThickness, SpacingBetweenSlices, RescaleSlope/Intercept/Type HU, 16-bit pixels (unsigned
// when the intercept is <= -1024, else signed). InstanceNumber counts from the top (head)
// slice, as scanners do, so it runs against the slice index.
//
// All files go flat into one folder in a shuffled order under non-sequential names (16 hex
// digits, no extension), as from a PACS export: a reader must sort by geometry.
//
// UIDs are deterministic: "2.25." followed by the decimal value of 128 bits of
// SHA-256(seed, patient id, role), the ISO/IEC 9834-8 UUID-derived form, so the same spec
// always gives the same UIDs and different specs do not collide.
#ifndef SCANCOV_SITES_CT_DICOM_WRITER_H_
#define SCANCOV_SITES_CT_DICOM_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sites/ct/phantom_spec.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::sites {

struct WrittenSeries {
  std::string series_uid;
  int series_number = 0;
  std::string description;
  bool localizer = false;
  int images = 0;
};

struct DicomWriteResult {
  std::string study_uid;
  std::string frame_of_reference_uid;
  std::vector<WrittenSeries> series;  // primary first, then the optional ones
  std::vector<std::string> files;     // full paths, in the order written
};

// Writes the series into `dir` (created if missing). Fails with "where: why" on a DCMTK error.
absl::StatusOr<DicomWriteResult> WritePhantomDicom(const PhantomSpec& spec,
                                                   const PhantomVolume& volume,
                                                   const std::string& dir);

// A deterministic UID under 2.25 from the seed and a free-form role string.
std::string DeterministicUid(uint64_t seed, absl::string_view role);

// The DICOM transfer syntax UID an encoding writes.
std::string TransferSyntaxUid(DicomEncoding encoding);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_DICOM_WRITER_H_
