// One CT image as DICOM attributes: the building block of dicom_writer.h, also usable to write
// hand-made test images (a variant series, a wrong orientation) with DCMTK.
#ifndef SCANCOV_SITES_CT_DICOM_IMAGE_H_
#define SCANCOV_SITES_CT_DICOM_IMAGE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sites/ct/phantom_spec.h"
#include "sites/ct/pixel_codec.h"

class DcmDataset;  // DCMTK

namespace scancov::sites {

// One image plane in patient coordinates (LPS, mm).
struct DicomImage {
  int rows = 0;
  int columns = 0;
  double row_spacing = 1;                               // between rows (PixelSpacing[0])
  double column_spacing = 1;                            // between columns (PixelSpacing[1])
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};  // row then column direction cosines
  std::array<double, 3> position{};                     // centre of the first pixel
  double slice_thickness = 1;
  double spacing_between_slices = 0;  // 0: not written
  int instance_number = 1;
  bool localizer = false;   // ImageType ORIGINAL\PRIMARY\LOCALIZER
  std::vector<int16_t> hu;  // rows x columns, row-major
};

struct DicomSeriesInfo {
  std::string study_uid;
  std::string series_uid;
  std::string frame_of_reference_uid;
  std::string sop_instance_uid;
  int series_number = 1;
  std::string description;
};

// Fills `dataset` with a complete CT Image Storage object (patient, study, series, equipment,
// frame of reference, image plane, image pixel, CT image and VOI LUT modules) and the pixels
// stored with `codec`. Uncompressed; the caller chooses the transfer syntax.
absl::Status FillCtImage(const PhantomSpec& spec, const DicomSeriesInfo& info,
                         const DicomImage& image, const PixelCodec& codec, DcmDataset& dataset);

// A DICOM decimal string (DS, at most 16 characters) for v.
std::string FormatDecimalString(double v);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_DICOM_IMAGE_H_
