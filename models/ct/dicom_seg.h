// Lung and lesion masks as a DICOM Segmentation (binary SEG, DCMTK's dcmseg) that references the
// source CT series, so PACS viewers and 3D Slicer show it over the original images.
//
// Source: ReadSegSource reads the headers of the source CT files given in slice order (the
// order of the HuVolume's k index, as node/imaging sorts the slices) and keeps what the SEG must
// reference: Study/Series/Frame of Reference UIDs, each slice's SOP Class/Instance UID and
// ImagePositionPatient, and the shared ImageOrientationPatient, PixelSpacing, SliceThickness,
// Rows and Columns. Patient and study attributes are copied by DCMTK from the first file.
//
// Segments (SegSegments()): 1 right lung (SCT 3341006), 2 left lung (SCT 44029006) under
// category Anatomical Structure (SCT 123037004); 3 ground-glass opacity (DCM 112120), 4 crazy
// paving (local code 99SCANCOV CRAZYPAVING, no standard concept exists), 5 consolidation
// (SCT 95436008 lung consolidation) under Morphologically Abnormal Structure (SCT 49755003).
// Algorithm type AUTOMATIC. A segment without any voxel is left out (the SEG then has fewer
// segments; their labels say which). One frame per segment and slice that has voxels; each
// frame carries its plane position, its derivation image (the source slice, purpose "Source
// image for image processing operation") and its dimension index (segment number, slice).
#ifndef SCANCOV_MODELS_CT_DICOM_SEG_H_
#define SCANCOV_MODELS_CT_DICOM_SEG_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

struct SegSourceSlice {
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::array<double, 3> position{};  // ImagePositionPatient
};

struct SegSource {
  std::string first_file;  // patient / study attributes are imported from it
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string frame_of_reference_uid;
  std::array<double, 6> orientation{};    // ImageOrientationPatient
  std::array<double, 2> pixel_spacing{};  // PixelSpacing: row spacing, column spacing
  double slice_thickness = 0;
  int rows = 0, columns = 0;
  std::vector<SegSourceSlice> slices;  // in the volume's slice order
};

// Reads the headers of `files` (slice order). Fails "dicom seg: file x: why" when a file cannot
// be read or lacks a required attribute, or when the files differ in series, frame of
// reference or size.
absl::StatusOr<SegSource> ReadSegSource(const std::vector<std::string>& files);

struct SegSegment {
  uint8_t lung_value = 0;    // voxels of the lung map with this value (0: not from that map)
  uint8_t lesion_value = 0;  // voxels of the lesion map with this value (0: not from that map)
  std::string label;
  std::array<std::string, 3> category;  // code value, scheme designator, meaning
  std::array<std::string, 3> type;
};

// The five segments described above.
std::vector<SegSegment> SegSegments();

struct SegWriteOptions {
  std::string series_description = "ScanCov lung and lesion segmentation";
  std::string series_number = "901";
  std::string content_label = "LUNGLESIONS";
  std::string algorithm_name = "scancov model-free lung mask";
  std::string software_version = "0.1";
};

// Writes `path` (atomically: a temporary file then a rename). `lungs` (0/1/2) and `lesions`
// (0-4) must be on one grid with nx == columns, ny == rows and nz == slices of `source`.
absl::Status WriteDicomSeg(const std::string& path, const SegSource& source,
                           const LabelVolume& lungs, const LabelVolume& lesions,
                           const SegWriteOptions& options = {});

struct LoadedSegment {
  std::string label;
  std::string type_code;  // SegmentedPropertyTypeCodeSequence code value
  LabelVolume mask;       // 0 / 1 on the source grid
};

struct LoadedSeg {
  std::string referenced_series_uid;
  std::string frame_of_reference_uid;
  std::string study_instance_uid;
  int frames = 0;
  std::vector<LoadedSegment> segments;
};

// Reads a binary SEG back with DcmSegmentation::loadFile and places every frame on the slice of
// `source` whose position it carries (within half a slice). Fails when a frame's position or
// size matches no source slice.
absl::StatusOr<LoadedSeg> ReadDicomSeg(const std::string& path, const SegSource& source);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_DICOM_SEG_H_
