#include "sites/ct/dicom_image.h"

// clang-format off
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
// clang-format on
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace scancov::sites {
namespace {

// Collects the first DCMTK error of a run of puts.
class Putter {
 public:
  explicit Putter(DcmDataset& ds) : ds_(ds) {}
  void Str(const DcmTagKey& tag, const std::string& value) {
    if (cond_.good()) cond_ = ds_.putAndInsertString(tag, value.c_str());
  }
  void U16(const DcmTagKey& tag, int value) {
    if (cond_.good()) cond_ = ds_.putAndInsertUint16(tag, static_cast<Uint16>(value));
  }
  void Ds(const DcmTagKey& tag, std::initializer_list<double> values) {
    std::vector<std::string> parts;
    for (double v : values) parts.push_back(FormatDecimalString(v));
    Str(tag, absl::StrJoin(parts, "\\"));
  }
  void Pixels(const std::vector<Uint16>& pixels) {
    if (cond_.good()) {
      cond_ = ds_.putAndInsertUint16Array(DCM_PixelData, pixels.data(),
                                          static_cast<unsigned long>(pixels.size()));
    }
  }
  const OFCondition& condition() const { return cond_; }

 private:
  DcmDataset& ds_;
  OFCondition cond_ = EC_Normal;
};

}  // namespace

std::string FormatDecimalString(double v) {
  if (v == 0) return "0";
  for (int precision = 12; precision >= 4; --precision) {
    std::string s = absl::StrFormat("%.*g", precision, v);
    if (s.size() <= 16) return s;
  }
  return absl::StrFormat("%.4g", v);
}

absl::Status FillCtImage(const PhantomSpec& spec, const DicomSeriesInfo& info,
                         const DicomImage& image, const PixelCodec& codec, DcmDataset& dataset) {
  Putter p(dataset);
  const PatientSpec& patient = spec.patient;
  const ScannerSpec& scanner = spec.scanner;
  p.Str(DCM_SpecificCharacterSet, "ISO_IR 100");
  p.Str(DCM_ImageType,
        image.localizer ? "ORIGINAL\\PRIMARY\\LOCALIZER" : "ORIGINAL\\PRIMARY\\AXIAL");
  p.Str(DCM_SOPClassUID, UID_CTImageStorage);
  p.Str(DCM_SOPInstanceUID, info.sop_instance_uid);
  p.Str(DCM_StudyDate, spec.study_date);
  p.Str(DCM_SeriesDate, spec.study_date);
  p.Str(DCM_ContentDate, spec.study_date);
  p.Str(DCM_StudyTime, "101500");
  p.Str(DCM_ContentTime, "101500");
  p.Str(DCM_AccessionNumber, "");
  p.Str(DCM_Modality, "CT");
  p.Str(DCM_Manufacturer, scanner.manufacturer);
  p.Str(DCM_ManufacturerModelName, scanner.model_name);
  p.Str(DCM_ReferringPhysicianName, "");
  p.Str(DCM_StudyDescription, "CT CHEST (SYNTHETIC)");
  p.Str(DCM_SeriesDescription, info.description);
  p.Str(DCM_PatientName,
        patient.patient_name.empty() ? "SYNTHETIC^" + patient.patient_id : patient.patient_name);
  p.Str(DCM_PatientID, patient.patient_id);
  p.Str(DCM_PatientBirthDate, "");
  p.Str(DCM_PatientSex, std::string(1, patient.sex));
  p.Str(DCM_PatientAge, absl::StrFormat("%03dY", patient.age_years));
  p.Str(DCM_BodyPartExamined, "CHEST");
  p.Str(DCM_SliceThickness, FormatDecimalString(image.slice_thickness));
  p.Str(DCM_KVP, "120");
  if (image.spacing_between_slices > 0) {
    p.Str(DCM_SpacingBetweenSlices, FormatDecimalString(image.spacing_between_slices));
  }
  p.Str(DCM_PatientPosition, "FFS");
  p.Str(DCM_StudyInstanceUID, info.study_uid);
  p.Str(DCM_SeriesInstanceUID, info.series_uid);
  p.Str(DCM_StudyID, "1");
  p.Str(DCM_SeriesNumber, absl::StrCat(info.series_number));
  p.Str(DCM_AcquisitionNumber, "1");
  p.Str(DCM_InstanceNumber, absl::StrCat(image.instance_number));
  const auto& pos = image.position;
  const auto& o = image.orientation;
  p.Ds(DCM_ImagePositionPatient, {pos[0], pos[1], pos[2]});
  p.Ds(DCM_ImageOrientationPatient, {o[0], o[1], o[2], o[3], o[4], o[5]});
  p.Str(DCM_FrameOfReferenceUID, info.frame_of_reference_uid);
  p.Str(DCM_PositionReferenceIndicator, "");
  if (!image.localizer) p.Ds(DCM_SliceLocation, {pos[2]});
  p.U16(DCM_SamplesPerPixel, 1);
  p.Str(DCM_PhotometricInterpretation, "MONOCHROME2");
  p.U16(DCM_Rows, image.rows);
  p.U16(DCM_Columns, image.columns);
  p.Ds(DCM_PixelSpacing, {image.row_spacing, image.column_spacing});
  p.U16(DCM_BitsAllocated, 16);
  p.U16(DCM_BitsStored, 16);
  p.U16(DCM_HighBit, 15);
  p.U16(DCM_PixelRepresentation, codec.is_signed() ? 1 : 0);
  p.Str(DCM_WindowCenter, "-550");
  p.Str(DCM_WindowWidth, "1500");
  p.Ds(DCM_RescaleIntercept, {scanner.rescale_intercept});
  p.Ds(DCM_RescaleSlope, {scanner.rescale_slope});
  p.Str(DCM_RescaleType, "HU");
  std::vector<Uint16> pixels(image.hu.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    // Two's complement reinterpretation when signed.
    pixels[i] = static_cast<Uint16>(codec.ToStored(image.hu[i]) & 0xFFFF);
  }
  p.Pixels(pixels);
  if (p.condition().bad()) {
    return absl::InternalError(absl::StrCat("FillCtImage: ", p.condition().text()));
  }
  return absl::OkStatus();
}

}  // namespace scancov::sites
