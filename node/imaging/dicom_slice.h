// One DICOM image file: its header as the importer needs it, and its pixels as HU.
//
// This is the DCMTK boundary of the importer: OFCondition errors become absl::Status here and
// no DCMTK type leaves dicom_slice.cc except DcmFileFormat, which callers hold opaquely.
// Status messages never carry attribute values that identify a patient.
#ifndef SCANCOV_NODE_IMAGING_DICOM_SLICE_H_
#define SCANCOV_NODE_IMAGING_DICOM_SLICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

class DcmFileFormat;  // DCMTK

namespace scancov::node {

struct SliceHeader {
  // Where it came from. `name` is the path relative to the import root, used in messages.
  std::string path;
  std::string name;
  uint64_t file_size = 0;
  int64_t mtime_ns = 0;

  std::string transfer_syntax_uid;
  std::string transfer_syntax_name;
  std::string sop_class_uid;
  std::string sop_instance_uid;  // identifier: compare only, never print
  std::string modality;          // empty when absent
  std::vector<std::string> image_type;
  std::string study_uid;   // identifier: hash before storing or printing
  std::string series_uid;  // identifier
  std::string patient_id;  // identifier
  bool has_patient_id = false;

  int rows = 0, columns = 0;
  int samples_per_pixel = 1;
  int bits_allocated = 0, bits_stored = 0, high_bit = -1;
  int pixel_representation = 0;
  int number_of_frames = 1;
  std::string photometric;
  bool has_pixel_data = false;

  bool has_position = false, has_orientation = false, has_pixel_spacing = false;
  std::array<double, 3> position{};
  std::array<double, 6> orientation{};
  std::array<double, 2> pixel_spacing{};  // [0] between rows, [1] between columns
  bool has_rescale = false;
  double rescale_slope = 1.0, rescale_intercept = 0.0;
  double slice_thickness = 0.0;  // 0 when absent
  int instance_number = 0;
  // A frame of a multi-frame (enhanced) CT object, as one slice: `frame` is its index in the
  // file (0-based) and the geometry and rescale above are that frame's, from the object's
  // functional groups (DicomFile::ReadFrameHeaders). number_of_frames stays the file's.
  bool is_frame = false;
  int frame = 0;

  bool IsLocalizer() const;
};

// Transfer syntaxes this build decodes: native (implicit/explicit little and big endian,
// deflated), JPEG baseline/extended/lossless, JPEG-LS, RLE (DCMTK's decoders), and JPEG 2000
// lossless and lossy (.4.90, .4.91; OpenJPEG, dicom_jpeg2000.h). Everything else (HTJ2K,
// JPEG XL, MPEG video, ...) is refused by name.
bool IsDecodableTransferSyntax(const std::string& uid);

// DCMTK's name of a SOP class or transfer syntax UID ("CT Image Storage"), or the UID itself.
std::string UidName(const std::string& uid);

// Registers DCMTK's JPEG, JPEG-LS and RLE decoders once per process (thread-safe), and turns
// DCMTK's own logging (logger "dcmtk") down to FATAL so no attribute value reaches stderr.
void RegisterDicomDecoders();

// Owns a parsed file. Movable, not copyable.
class DicomFile {
 public:
  DicomFile();
  ~DicomFile();
  DicomFile(DicomFile&&) noexcept;
  DicomFile& operator=(DicomFile&&) noexcept;

  // Parses a file; with header_only the pixel data and everything after it is not read.
  // NotFound when it cannot be opened, InvalidArgument when it is not DICOM, DataLoss when
  // it is DICOM but damaged (e.g. truncated).
  static absl::StatusOr<DicomFile> Load(const std::string& path, bool header_only);

  // The header fields; file fields (path, name, size, mtime) are left empty.
  absl::StatusOr<SliceHeader> ReadHeader() const;
  // One header per image the file holds: ReadHeader() for a single-frame file; for an Enhanced
  // or Legacy Converted Enhanced CT object with several frames, one per frame, each with the
  // frame's position (Per-frame Functional Groups: Plane Position), orientation, pixel spacing,
  // slice thickness and rescale (per-frame, else Shared Functional Groups: Plane Orientation,
  // Pixel Measures, Pixel Value Transformation; top-level attributes as a last resort).
  // InvalidArgument naming the frame and the attribute when a frame has no position, or the
  // per-frame sequence does not hold one item per frame.
  absl::StatusOr<std::vector<SliceHeader>> ReadFrameHeaders() const;
  // Decodes the pixels to HU into out[rows * columns] using the header's pixel format and
  // rescale (which the caller has validated). Decompresses encapsulated syntaxes; a JPEG 2000
  // codestream that disagrees with the header (size, components, precision, signedness) is
  // refused (FailedPrecondition), a damaged one is DataLoss with the codec's reason.
  absl::Status DecodeHu(const SliceHeader& header, int16_t* out);
  // The same for frame `frame` (0-based) of a multi-frame object (the importer itself takes
  // single-frame images only).
  absl::Status DecodeFrameHu(const SliceHeader& header, int frame, int16_t* out);

 private:
  std::unique_ptr<DcmFileFormat> file_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_DICOM_SLICE_H_
