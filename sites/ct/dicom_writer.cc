#include "sites/ct/dicom_writer.h"

// clang-format off
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "sites/ct/dicom_image.h"
#include "sites/ct/pixel_codec.h"

namespace scancov::sites {
namespace {

E_TransferSyntax ToXfer(DicomEncoding e) {
  switch (e) {
    case DicomEncoding::kImplicitLittle:
      return EXS_LittleEndianImplicit;
    case DicomEncoding::kRle:
      return EXS_RLELossless;
    case DicomEncoding::kJpegLossless:
      return EXS_JPEGProcess14SV1;
    case DicomEncoding::kJpegLsLossless:
      return EXS_JPEGLSLossless;
    case DicomEncoding::kExplicitLittle:
      break;
  }
  return EXS_LittleEndianExplicit;
}

std::string HexName(absl::string_view uid) { return ToHex(Sha256Digest(uid)).substr(0, 16); }

// The axial slices of the primary series (or of the 2x thick one when `thick`).
std::vector<DicomImage> AxialImages(const PhantomSpec& spec, const PhantomVolume& v, bool thick) {
  const PhantomGrid& g = v.grid;
  const int factor = thick ? 2 : 1;
  const int count = g.nz / factor;
  const size_t plane = static_cast<size_t>(g.nx) * g.ny;
  std::vector<DicomImage> images(count);
  for (int m = 0; m < count; ++m) {
    DicomImage& im = images[m];
    im.rows = g.ny;
    im.columns = g.nx;
    im.row_spacing = g.dy;
    im.column_spacing = g.dx;
    im.orientation = {1, 0, 0, 0, 1, 0};
    const double z = g.origin[2] + (m * factor + 0.5 * (factor - 1)) * g.dz;
    im.position = {g.origin[0], g.origin[1], z};
    im.slice_thickness = spec.scanner.slice_thickness_mm * factor;
    im.spacing_between_slices = g.dz * factor;
    im.instance_number = count - m;  // 1 = head end
    im.hu.resize(plane);
    for (size_t p = 0; p < plane; ++p) {
      int sum = 0;
      for (int f = 0; f < factor; ++f)
        sum += v.hu[(static_cast<size_t>(m) * factor + f) * plane + p];
      im.hu[p] = static_cast<int16_t>(sum / factor);
    }
  }
  return images;
}

// A coronal projection radiograph: rows run from head to feet, columns right to left.
DicomImage Localizer(const PhantomSpec& spec, const PhantomVolume& v) {
  const PhantomGrid& g = v.grid;
  DicomImage im;
  im.rows = g.nz;
  im.columns = g.nx;
  im.row_spacing = g.dz;
  im.column_spacing = g.dx;
  im.orientation = {1, 0, 0, 0, 0, -1};
  im.position = {g.origin[0], 0.0, g.origin[2] + (g.nz - 1) * g.dz};
  im.slice_thickness = spec.scanner.slice_thickness_mm;
  im.instance_number = 1;
  im.localizer = true;
  im.hu.resize(static_cast<size_t>(g.nz) * g.nx);
  for (int r = 0; r < g.nz; ++r) {
    const int k = g.nz - 1 - r;
    for (int i = 0; i < g.nx; ++i) {
      double attenuation = 0;
      for (int j = 0; j < g.ny; ++j) attenuation += v.hu[g.Index(k, j, i)] + 1000.0;
      const double value = -1000.0 + 3.0 * attenuation / g.ny;
      im.hu[static_cast<size_t>(r) * g.nx + i] =
          static_cast<int16_t>(std::clamp(value, -1024.0, 3000.0));
    }
  }
  return im;
}

void RegisterEncoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The JPEG encoder logs at INFO for every image; errors come back as OFCondition anyway.
    OFLog::getLogger("dcmtk.dcmjpeg").setLogLevel(OFLogger::WARN_LOG_LEVEL);
    OFLog::getLogger("dcmtk.dcmimgle").setLogLevel(OFLogger::WARN_LOG_LEVEL);
    DcmRLEEncoderRegistration::registerCodecs();
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
  });
}

absl::Status Encode(DcmDataset& ds, DicomEncoding encoding, const std::string& path) {
  const E_TransferSyntax xfer = ToXfer(encoding);
  OFCondition cond = EC_Normal;
  if (encoding == DicomEncoding::kRle) {
    DcmRLERepresentationParameter param;
    cond = ds.chooseRepresentation(xfer, &param);
  } else if (encoding == DicomEncoding::kJpegLossless) {
    DJ_RPLossless param(1, 0);
    cond = ds.chooseRepresentation(xfer, &param);
  } else if (encoding == DicomEncoding::kJpegLsLossless) {
    DJLSRepresentationParameter param(0, OFTrue);
    cond = ds.chooseRepresentation(xfer, &param);
  }
  if (cond.bad() || !ds.canWriteXfer(xfer)) {
    return absl::InternalError(
        absl::StrCat(path, ": cannot encode as ", DcmXfer(xfer).getXferName(), ": ", cond.text()));
  }
  return absl::OkStatus();
}

absl::Status WriteImage(const PhantomSpec& spec, const DicomSeriesInfo& info,
                        const DicomImage& image, const PixelCodec& codec, const std::string& path) {
  DcmFileFormat file;
  SCV_RETURN_IF_ERROR(FillCtImage(spec, info, image, codec, *file.getDataset()));
  SCV_RETURN_IF_ERROR(Encode(*file.getDataset(), spec.scanner.encoding, path));
  const OFCondition cond = file.saveFile(path.c_str(), ToXfer(spec.scanner.encoding));
  if (cond.bad()) {
    return absl::InternalError(absl::StrCat("WritePhantomDicom: ", path, ": ", cond.text()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TransferSyntaxUid(DicomEncoding encoding) {
  return DcmXfer(ToXfer(encoding)).getXferID();
}

std::string DeterministicUid(uint64_t seed, absl::string_view role) {
  const std::string digest =
      Sha256Digest(absl::StrCat("scancov-uid-v1", absl::string_view("\0", 1), seed, "/", role));
  unsigned __int128 value = 0;
  for (int b = 0; b < 16; ++b) value = (value << 8) | static_cast<uint8_t>(digest[b]);
  std::string decimal;
  do {
    decimal.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  std::reverse(decimal.begin(), decimal.end());
  return "2.25." + decimal;
}

absl::StatusOr<DicomWriteResult> WritePhantomDicom(const PhantomSpec& spec,
                                                   const PhantomVolume& volume,
                                                   const std::string& dir) {
  SCV_RETURN_IF_ERROR(ValidatePhantomSpec(spec));
  if (volume.hu.size() != volume.grid.size()) {
    return absl::InvalidArgumentError("WritePhantomDicom: volume does not match its grid");
  }
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  RegisterEncoders();
  const std::string who = absl::StrCat(spec.patient.patient_id, "/");
  DicomWriteResult result;
  result.study_uid = DeterministicUid(spec.seed, who + "study");
  result.frame_of_reference_uid = DeterministicUid(spec.seed, who + "frame");

  struct Job {
    size_t series;
    DicomImage image;
  };
  std::vector<Job> jobs;
  auto add_series = [&](int number, const std::string& description, bool localizer,
                        std::vector<DicomImage> images) {
    WrittenSeries s;
    s.series_uid = DeterministicUid(spec.seed, absl::StrCat(who, "series", number));
    s.series_number = number;
    s.description = description;
    s.localizer = localizer;
    s.images = static_cast<int>(images.size());
    result.series.push_back(s);
    for (DicomImage& im : images) jobs.push_back({result.series.size() - 1, std::move(im)});
  };
  add_series(2, "CHEST AXIAL", false, AxialImages(spec, volume, false));
  if (spec.scanner.add_localizer) add_series(1, "TOPOGRAM", true, {Localizer(spec, volume)});
  if (spec.scanner.add_second_series) {
    add_series(3, "CHEST AXIAL THICK", false, AxialImages(spec, volume, true));
  }

  // A PACS export order: shuffled, with names that say nothing about the position.
  Random rng(spec.seed ^ 0x5CA7C0DEull);
  std::shuffle(jobs.begin(), jobs.end(), rng.engine());
  const PixelCodec codec(spec.scanner.rescale_slope, spec.scanner.rescale_intercept);
  for (const Job& job : jobs) {
    const WrittenSeries& series = result.series[job.series];
    DicomSeriesInfo info;
    info.study_uid = result.study_uid;
    info.frame_of_reference_uid = result.frame_of_reference_uid;
    info.series_uid = series.series_uid;
    info.series_number = series.series_number;
    info.description = series.description;
    info.sop_instance_uid = DeterministicUid(
        spec.seed,
        absl::StrCat(who, "image", series.series_number, "/", job.image.instance_number));
    const std::string path = dir + "/" + HexName(info.sop_instance_uid);
    SCV_RETURN_IF_ERROR(WriteImage(spec, info, job.image, codec, path));
    result.files.push_back(path);
  }
  return result;
}

}  // namespace scancov::sites
