#include "node/imaging/dicom_slice.h"

// clang-format off
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "node/imaging/dicom_jpeg2000.h"

namespace scancov::node {
namespace {

std::string GetString(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  if (item.findAndGetOFStringArray(tag, value).bad()) return "";
  return std::string(absl::StripAsciiWhitespace(value.c_str()));
}

int GetInt(DcmItem& item, const DcmTagKey& tag, int fallback) {
  Uint16 u = 0;
  if (item.findAndGetUint16(tag, u).good()) return u;
  Sint32 s = 0;
  if (item.findAndGetSint32(tag, s).good()) return s;
  return fallback;
}

// Reads `n` numbers of a multi-valued DS; false when any is missing or not finite.
template <size_t N>
bool GetDoubles(DcmItem& item, const DcmTagKey& tag, std::array<double, N>& out) {
  for (size_t i = 0; i < N; ++i) {
    Float64 v = 0;
    if (item.findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).bad() || !std::isfinite(v)) {
      return false;
    }
    out[i] = v;
  }
  return true;
}

// True when the file has the "DICM" magic after a 128-byte preamble.
bool HasDicmMagic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[132];
  if (!in.read(buf, sizeof buf)) return false;
  return std::memcmp(buf + 128, "DICM", 4) == 0;
}

// out[i] = clamp(in[i] + offset) to int16.
template <typename T>
void ConvertIntegral(const T* in, size_t n, int32_t offset, int16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t v = static_cast<int32_t>(in[i]) + offset;
    out[i] = static_cast<int16_t>(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
  }
}

// The name of the syntax the meta header declares. DCMTK reads a dataset whose syntax it does
// not know (newer than 3.6.7) as explicit VR little endian; its name is then looked up here,
// not taken from the encoding DCMTK fell back to.
std::string TransferSyntaxName(const std::string& uid, const DcmXfer& xfer) {
  if (xfer.getXfer() != EXS_Unknown && (uid.empty() || uid == xfer.getXferID())) {
    return xfer.getXferName();
  }
  static const std::map<std::string, std::string> kNewer = {
      {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.202",
       "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"},
      {"1.2.840.10008.1.2.4.110", "JPEG XL Lossless"},
      {"1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"},
      {"1.2.840.10008.1.2.4.112", "JPEG XL"}};
  if (auto it = kNewer.find(uid); it != kNewer.end()) return it->second;
  const char* name = dcmFindNameOfUID(uid.c_str(), nullptr);
  return name != nullptr ? name : "unknown transfer syntax";
}

// HU of `n` stored values (native 16-bit patterns) under the header's BitsStored,
// PixelRepresentation and rescale; every transfer syntax ends here.
void StoredToHu(const Uint16* pixels, size_t n, const SliceHeader& h, int16_t* out) {
  const int bits = h.bits_stored;
  const uint32_t mask = bits >= 16 ? 0xFFFFu : (1u << bits) - 1;
  const uint32_t sign = 1u << (bits - 1);
  const bool is_signed = h.pixel_representation == 1;
  const double slope = h.rescale_slope, intercept = h.rescale_intercept;
  const bool integral =
      slope == 1.0 && intercept == std::floor(intercept) && std::abs(intercept) < 65536.0;
  const int32_t offset = static_cast<int32_t>(intercept);
  if (integral && bits == 16) {
    // The common CT case, kept branch-free so that it vectorises.
    if (is_signed) {
      ConvertIntegral(reinterpret_cast<const int16_t*>(pixels), n, offset, out);
    } else {
      ConvertIntegral(pixels, n, offset, out);
    }
    return;
  }
  for (size_t p = 0; p < n; ++p) {
    const uint32_t v = pixels[p] & mask;
    const int32_t stored =
        (is_signed && (v & sign)) ? static_cast<int32_t>(v) - (1 << bits) : static_cast<int32_t>(v);
    const int64_t hu =
        integral ? stored + offset : static_cast<int64_t>(std::llround(stored * slope + intercept));
    out[p] = static_cast<int16_t>(std::clamp<int64_t>(hu, -32768, 32767));
  }
}

}  // namespace

bool SliceHeader::IsLocalizer() const {
  return image_type.size() >= 3 && absl::AsciiStrToUpper(image_type[2]) == "LOCALIZER";
}

bool IsDecodableTransferSyntax(const std::string& uid) {
  static const std::set<std::string> kDecodable = {
      "1.2.840.10008.1.2",      "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.1.99",
      "1.2.840.10008.1.2.2",    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
      "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
      "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.5"};
  return kDecodable.count(uid) > 0 || IsJpeg2000TransferSyntax(uid);
}

std::string UidName(const std::string& uid) {
  if (uid.empty()) return "none";
  return dcmFindNameOfUID(uid.c_str(), uid.c_str());
}

void RegisterDicomDecoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK would print parser warnings to stderr, some quoting attribute values; every
    // condition it reports is turned into a Status here instead.
    OFLog::getLogger("dcmtk").setLogLevel(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

DicomFile::DicomFile() : file_(std::make_unique<DcmFileFormat>()) {}
DicomFile::~DicomFile() = default;
DicomFile::DicomFile(DicomFile&&) noexcept = default;
DicomFile& DicomFile::operator=(DicomFile&&) noexcept = default;

absl::StatusOr<DicomFile> DicomFile::Load(const std::string& path, bool header_only) {
  // One open and one parse per file: access() instead of a probing open, every value read in
  // the parse of a full load (DCMTK would otherwise open the file again for each value over
  // DCM_MaxReadLength: the pixel data, and each JPEG 2000 fragment), and the magic checked
  // only when DCMTK's parse leaves a doubt.
  if (::access(path.c_str(), R_OK) != 0) return absl::NotFoundError("cannot open file");
  DicomFile f;
  const OFCondition cond =
      header_only ? f.file_->loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange,
                                              DCM_MaxReadLength, ERM_autoDetect, DCM_PixelData)
                  : f.file_->loadFile(path.c_str(), EXS_Unknown, EGL_noChange,
                                      std::numeric_limits<Uint32>::max(), ERM_autoDetect);
  if (cond.bad()) {
    if (!HasDicmMagic(path)) return absl::InvalidArgumentError("not a DICOM file");
    return absl::DataLossError(absl::StrCat("damaged DICOM file (DCMTK: ", cond.text(), ")"));
  }
  // Without the "DICM" magic DCMTK guesses a raw dataset, and some random bytes parse as one.
  DcmDataset& ds = *f.file_->getDataset();
  if (!ds.tagExists(DCM_SOPClassUID) && !ds.tagExists(DCM_Modality) &&
      !ds.tagExists(DCM_StudyInstanceUID) && !HasDicmMagic(path)) {
    return absl::InvalidArgumentError("not a DICOM file");
  }
  return f;
}

absl::StatusOr<SliceHeader> DicomFile::ReadHeader() const {
  DcmDataset& ds = *file_->getDataset();
  DcmMetaInfo& meta = *file_->getMetaInfo();
  SliceHeader h;
  const DcmXfer xfer(ds.getOriginalXfer());
  h.transfer_syntax_uid = GetString(meta, DCM_TransferSyntaxUID);
  if (h.transfer_syntax_uid.empty() && xfer.getXfer() != EXS_Unknown) {
    h.transfer_syntax_uid = xfer.getXferID();
  }
  h.transfer_syntax_name = TransferSyntaxName(h.transfer_syntax_uid, xfer);
  h.sop_class_uid = GetString(ds, DCM_SOPClassUID);
  if (h.sop_class_uid.empty()) h.sop_class_uid = GetString(meta, DCM_MediaStorageSOPClassUID);
  h.sop_instance_uid = GetString(ds, DCM_SOPInstanceUID);
  h.modality = absl::AsciiStrToUpper(GetString(ds, DCM_Modality));
  h.image_type = absl::StrSplit(GetString(ds, DCM_ImageType), '\\');
  h.study_uid = GetString(ds, DCM_StudyInstanceUID);
  h.series_uid = GetString(ds, DCM_SeriesInstanceUID);
  h.patient_id = GetString(ds, DCM_PatientID);
  h.has_patient_id = !h.patient_id.empty();
  h.rows = GetInt(ds, DCM_Rows, 0);
  h.columns = GetInt(ds, DCM_Columns, 0);
  h.samples_per_pixel = GetInt(ds, DCM_SamplesPerPixel, 1);
  h.bits_allocated = GetInt(ds, DCM_BitsAllocated, 0);
  h.bits_stored = GetInt(ds, DCM_BitsStored, h.bits_allocated);
  h.high_bit = GetInt(ds, DCM_HighBit, h.bits_stored - 1);
  h.pixel_representation = GetInt(ds, DCM_PixelRepresentation, 0);
  h.number_of_frames = GetInt(ds, DCM_NumberOfFrames, 1);
  h.photometric = absl::AsciiStrToUpper(GetString(ds, DCM_PhotometricInterpretation));
  h.has_pixel_data = ds.tagExists(DCM_PixelData) || h.rows > 0;
  h.has_position = GetDoubles(ds, DCM_ImagePositionPatient, h.position);
  h.has_orientation = GetDoubles(ds, DCM_ImageOrientationPatient, h.orientation);
  h.has_pixel_spacing = GetDoubles(ds, DCM_PixelSpacing, h.pixel_spacing);
  std::array<double, 1> slope{}, intercept{}, thickness{};
  h.has_rescale =
      GetDoubles(ds, DCM_RescaleSlope, slope) && GetDoubles(ds, DCM_RescaleIntercept, intercept);
  if (h.has_rescale) {
    h.rescale_slope = slope[0];
    h.rescale_intercept = intercept[0];
  }
  if (GetDoubles(ds, DCM_SliceThickness, thickness)) h.slice_thickness = thickness[0];
  h.instance_number = GetInt(ds, DCM_InstanceNumber, 0);
  return h;
}

namespace {

constexpr char kEnhancedCtClass[] = "1.2.840.10008.5.1.4.1.1.2.1";
constexpr char kLegacyEnhancedCtClass[] = "1.2.840.10008.5.1.4.1.1.2.2";

// The first item of `sequence` in `group` (a functional group item), or null.
DcmItem* FirstItem(DcmItem* group, const DcmTagKey& sequence) {
  if (group == nullptr) return nullptr;
  DcmItem* item = nullptr;
  if (group->findAndGetSequenceItem(sequence, item, 0).bad()) return nullptr;
  return item;
}

// `tag` from the macro `sequence` of the per-frame group, else of the shared group.
template <size_t N>
bool GetFrameDoubles(DcmItem* per_frame, DcmItem* shared, const DcmTagKey& sequence,
                     const DcmTagKey& tag, std::array<double, N>& out) {
  for (DcmItem* group : {per_frame, shared}) {
    DcmItem* macro = FirstItem(group, sequence);
    if (macro != nullptr && GetDoubles(*macro, tag, out)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::vector<SliceHeader>> DicomFile::ReadFrameHeaders() const {
  SCV_ASSIGN_OR_RETURN(SliceHeader base, ReadHeader());
  const bool enhanced =
      base.sop_class_uid == kEnhancedCtClass || base.sop_class_uid == kLegacyEnhancedCtClass;
  if (!enhanced) return std::vector<SliceHeader>{base};
  if (base.number_of_frames < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Number of Frames ", base.number_of_frames, " in an enhanced CT object"));
  }
  DcmDataset& ds = *file_->getDataset();
  DcmItem* shared = nullptr;
  if (ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).bad()) {
    shared = nullptr;
  }
  DcmSequenceOfItems* per_frame_seq = nullptr;
  if (ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame_seq).bad() ||
      per_frame_seq == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        base.number_of_frames,
        " frames but no Per-frame Functional Groups Sequence: the frames' positions are unknown"));
  }
  if (static_cast<int>(per_frame_seq->card()) != base.number_of_frames) {
    return absl::InvalidArgumentError(absl::StrCat("Per-frame Functional Groups Sequence holds ",
                                                   per_frame_seq->card(), " items for ",
                                                   base.number_of_frames, " frames"));
  }
  std::vector<SliceHeader> frames;
  frames.reserve(base.number_of_frames);
  for (int f = 0; f < base.number_of_frames; ++f) {
    DcmItem* per_frame = per_frame_seq->getItem(f);
    SliceHeader h = base;
    h.is_frame = true;
    h.frame = f;
    h.instance_number = f + 1;
    h.has_position = GetFrameDoubles(per_frame, shared, DCM_PlanePositionSequence,
                                     DCM_ImagePositionPatient, h.position);
    if (!h.has_position) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame ", f + 1, " of ", base.number_of_frames,
                       ": no Image Position (Patient) in its Plane Position Sequence"));
    }
    h.has_orientation = GetFrameDoubles(per_frame, shared, DCM_PlaneOrientationSequence,
                                        DCM_ImageOrientationPatient, h.orientation) ||
                        base.has_orientation;
    h.has_pixel_spacing = GetFrameDoubles(per_frame, shared, DCM_PixelMeasuresSequence,
                                          DCM_PixelSpacing, h.pixel_spacing) ||
                          base.has_pixel_spacing;
    std::array<double, 1> thickness{}, slope{}, intercept{};
    if (GetFrameDoubles(per_frame, shared, DCM_PixelMeasuresSequence, DCM_SliceThickness,
                        thickness)) {
      h.slice_thickness = thickness[0];
    }
    if (GetFrameDoubles(per_frame, shared, DCM_PixelValueTransformationSequence, DCM_RescaleSlope,
                        slope) &&
        GetFrameDoubles(per_frame, shared, DCM_PixelValueTransformationSequence,
                        DCM_RescaleIntercept, intercept)) {
      h.has_rescale = true;
      h.rescale_slope = slope[0];
      h.rescale_intercept = intercept[0];
    }
    frames.push_back(std::move(h));
  }
  return frames;
}

absl::Status DicomFile::DecodeHu(const SliceHeader& h, int16_t* out) {
  return DecodeFrameHu(h, h.is_frame ? h.frame : 0, out);
}

absl::Status DicomFile::DecodeFrameHu(const SliceHeader& h, int frame, int16_t* out) {
  if (h.bits_stored < 1 || h.bits_stored > 16 || h.rows <= 0 || h.columns <= 0) {
    return absl::InvalidArgumentError("unsupported pixel format");
  }
  if (frame < 0 || frame >= h.number_of_frames) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame ", frame + 1, " of ", h.number_of_frames, " requested"));
  }
  DcmDataset& ds = *file_->getDataset();
  const size_t plane = static_cast<size_t>(h.rows) * h.columns;
  if (IsJpeg2000TransferSyntax(h.transfer_syntax_uid)) {
    std::vector<uint16_t> stored(plane);
    SCV_RETURN_IF_ERROR(DecodeJpeg2000Frame(ds, h, frame, stored.data()));
    StoredToHu(stored.data(), plane, h, out);
    return absl::OkStatus();
  }
  if (DcmXfer(ds.getOriginalXfer()).isEncapsulated()) {
    RegisterDicomDecoders();
    const OFCondition cond = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      return absl::DataLossError(absl::StrCat("cannot decode ", h.transfer_syntax_name,
                                              " pixel data (DCMTK: ", cond.text(), ")"));
    }
  }
  const Uint16* pixels = nullptr;
  unsigned long count = 0;
  const OFCondition cond = ds.findAndGetUint16Array(DCM_PixelData, pixels, &count);
  if (cond.bad() || pixels == nullptr) {
    return absl::DataLossError(absl::StrCat("pixel data unreadable (DCMTK: ", cond.text(), ")"));
  }
  const size_t expected = plane * (frame + 1);
  if (count < expected) {
    return absl::DataLossError(
        absl::StrCat("pixel data holds ", count, " of ", expected, " values (truncated file?)"));
  }
  StoredToHu(pixels + plane * frame, plane, h, out);
  return absl::OkStatus();
}

}  // namespace scancov::node
