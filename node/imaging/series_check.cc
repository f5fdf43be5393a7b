#include "node/imaging/series_check.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

using Vec = std::array<double, 3>;

absl::Status Refuse(absl::string_view why) { return absl::FailedPreconditionError(why); }

absl::Status FileRefuse(const SliceHeader& s, absl::string_view why) {
  return Refuse(absl::StrCat("file ", s.name, ": ", why));
}

double Dot(const Vec& a, const Vec& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec Cross(const Vec& a, const Vec& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

absl::Status CheckTransferSyntax(const SliceHeader& s) {
  if (IsDecodableTransferSyntax(s.transfer_syntax_uid)) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat(
      "file ", s.name, ": transfer syntax ", s.transfer_syntax_name, " (",
      s.transfer_syntax_uid.empty() ? "no UID" : s.transfer_syntax_uid,
      ") cannot be decoded by this build (supported: uncompressed, JPEG, JPEG-LS, RLE, "
      "JPEG 2000)"));
}

absl::Status CheckPixelFormat(const SliceHeader& s) {
  if (s.number_of_frames != 1 && !s.is_frame) {
    return FileRefuse(
        s, absl::StrCat(s.number_of_frames, " frames: multi-frame ", UidName(s.sop_class_uid),
                        " object; multi-frame CT is read from Enhanced CT objects, whose "
                        "functional groups place each frame"));
  }
  if (s.rows <= 0 || s.columns <= 0 || !s.has_pixel_data) return FileRefuse(s, "no pixel data");
  if (s.samples_per_pixel != 1 ||
      (s.photometric != "MONOCHROME2" && s.photometric != "MONOCHROME1")) {
    return FileRefuse(
        s, absl::StrCat("not a greyscale image (PhotometricInterpretation ", s.photometric,
                        ", SamplesPerPixel ", s.samples_per_pixel, ")"));
  }
  if (s.bits_allocated != 16 || s.bits_stored < 1 || s.bits_stored > 16 ||
      s.high_bit != s.bits_stored - 1 || s.pixel_representation < 0 || s.pixel_representation > 1) {
    return FileRefuse(s, absl::StrCat("unsupported pixel layout (BitsAllocated ", s.bits_allocated,
                                      ", BitsStored ", s.bits_stored, ", HighBit ", s.high_bit,
                                      ", PixelRepresentation ", s.pixel_representation, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckRescale(SliceHeader& s, const SeriesCheckOptions& o, bool* assumed) {
  if (!s.has_rescale) {
    if (!o.assume_identity_rescale) {
      return FileRefuse(s, "RescaleSlope/RescaleIntercept missing (required for CT; HU unknown)");
    }
    s.rescale_slope = 1.0;
    s.rescale_intercept = 0.0;
    *assumed = true;
  }
  if (!(s.rescale_slope > 0) || !std::isfinite(s.rescale_slope) ||
      !std::isfinite(s.rescale_intercept)) {
    return FileRefuse(s, "RescaleSlope must be a positive number");
  }
  return absl::OkStatus();
}

absl::Status CheckGeometry(const SliceHeader& s, const SliceHeader& first,
                           const SeriesCheckOptions& o) {
  if (!s.has_pixel_spacing) return FileRefuse(s, "PixelSpacing missing");
  if (!s.has_orientation) return FileRefuse(s, "ImageOrientationPatient missing");
  if (!s.has_position) return FileRefuse(s, "ImagePositionPatient missing");
  if (!(s.pixel_spacing[0] > 0 && s.pixel_spacing[1] > 0)) {
    return FileRefuse(s, "PixelSpacing must be positive");
  }
  if (s.rows != first.rows || s.columns != first.columns) {
    return FileRefuse(s, absl::StrCat("image size ", s.columns, "x", s.rows, " differs from ",
                                      first.columns, "x", first.rows, " in file ", first.name));
  }
  for (int i = 0; i < 2; ++i) {
    if (std::abs(s.pixel_spacing[i] - first.pixel_spacing[i]) > 1e-3 * first.pixel_spacing[i]) {
      return FileRefuse(s, absl::StrCat("PixelSpacing differs from file ", first.name));
    }
  }
  for (int i = 0; i < 6; ++i) {
    if (std::abs(s.orientation[i] - first.orientation[i]) > o.orientation_tolerance) {
      return FileRefuse(s, absl::StrCat("ImageOrientationPatient differs from file ", first.name));
    }
  }
  return absl::OkStatus();
}

struct Placed {
  double along;  // position along the slice normal
  size_t index;  // into the slices vector
};

// Sorts the slices along the normal; drops exact duplicates (the same SOP instance exported
// twice) with a note and refuses two different images at one position.
absl::StatusOr<std::vector<Placed>> SortAlongNormal(const std::vector<SliceHeader>& slices,
                                                    const Vec& normal,
                                                    std::vector<std::string>* notes) {
  std::vector<Placed> placed;
  for (size_t i = 0; i < slices.size(); ++i) {
    const Vec p{slices[i].position[0], slices[i].position[1], slices[i].position[2]};
    placed.push_back({Dot(normal, p), i});
  }
  std::sort(placed.begin(), placed.end(), [&](const Placed& a, const Placed& b) {
    return a.along != b.along ? a.along < b.along : slices[a.index].name < slices[b.index].name;
  });
  std::vector<Placed> unique;
  for (const Placed& p : placed) {
    if (!unique.empty() && std::abs(p.along - unique.back().along) < 1e-3) {
      const SliceHeader& a = slices[unique.back().index];
      const SliceHeader& b = slices[p.index];
      if (!a.sop_instance_uid.empty() && a.sop_instance_uid == b.sop_instance_uid &&
          a.frame == b.frame) {
        notes->push_back(absl::StrCat("file ", b.name, " repeats file ", a.name, "; dropped"));
        continue;
      }
      return Refuse(
          absl::StrFormat("duplicate slice: files %s and %s are at the same position "
                          "(%.3f mm along the slice normal)",
                          a.name, b.name, p.along));
    }
    unique.push_back(p);
  }
  return unique;
}

// Every slice must sit on the normal line through the first one (no gantry tilt / shear).
absl::Status CheckStacked(const std::vector<SliceHeader>& slices, const std::vector<Placed>& placed,
                          const Vec& row, const Vec& col, const SeriesCheckOptions& o) {
  const SliceHeader& base = slices[placed.front().index];
  for (const Placed& p : placed) {
    const SliceHeader& s = slices[p.index];
    const Vec d{s.position[0] - base.position[0], s.position[1] - base.position[1],
                s.position[2] - base.position[2]};
    if (std::hypot(Dot(d, row), Dot(d, col)) > o.in_plane_tolerance_mm) {
      return FileRefuse(s,
                        "slice origin is off the slice normal (gantry tilt or sheared "
                        "series); not supported");
    }
  }
  return absl::OkStatus();
}

// The median step between sorted slices; refuses gaps and non-uniform steps.
absl::StatusOr<double> UniformSpacing(const std::vector<SliceHeader>& slices,
                                      const std::vector<Placed>& placed,
                                      const SeriesCheckOptions& o,
                                      std::vector<std::string>* notes) {
  const SliceHeader& first = slices[placed.front().index];
  if (placed.size() == 1) {
    notes->push_back(absl::StrCat("single slice; slice spacing taken as ",
                                  first.slice_thickness > 0 ? "SliceThickness" : "1 mm"));
    return first.slice_thickness > 0 ? first.slice_thickness : 1.0;
  }
  std::vector<double> steps;
  for (size_t i = 1; i < placed.size(); ++i) steps.push_back(placed[i].along - placed[i - 1].along);
  std::vector<double> sorted = steps;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double spacing = sorted[sorted.size() / 2];
  const double tol = std::max(o.spacing_tolerance_mm, o.spacing_tolerance_fraction * spacing);
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string& a = slices[placed[i].index].name;
    const std::string& b = slices[placed[i + 1].index].name;
    if (steps[i] > o.gap_factor * spacing) {
      return Refuse(absl::StrFormat(
          "missing slice(s): gap of %.3f mm between files %s and %s where the spacing is "
          "%.3f mm (about %d missing)",
          steps[i], a, b, spacing, static_cast<int>(std::lround(steps[i] / spacing)) - 1));
    }
    if (std::abs(steps[i] - spacing) > tol) {
      return Refuse(absl::StrFormat(
          "non-uniform slice spacing: %.3f mm between files %s and %s, %.3f mm elsewhere", steps[i],
          a, b, spacing));
    }
  }
  return spacing;
}

}  // namespace

absl::StatusOr<SeriesGeometry> CheckAndSortSeries(std::vector<SliceHeader>& slices,
                                                  const SeriesCheckOptions& o,
                                                  std::vector<std::string>* notes) {
  if (slices.empty()) return Refuse("no slices");
  bool assumed_rescale = false;
  for (SliceHeader& s : slices) {
    SCV_RETURN_IF_ERROR(CheckTransferSyntax(s));
    SCV_RETURN_IF_ERROR(CheckPixelFormat(s));
    SCV_RETURN_IF_ERROR(CheckRescale(s, o, &assumed_rescale));
    SCV_RETURN_IF_ERROR(CheckGeometry(s, slices.front(), o));
  }
  if (assumed_rescale) {
    notes->push_back("RescaleSlope/Intercept missing: stored values taken as HU");
  }
  const SliceHeader& first = slices.front();
  const Vec row{first.orientation[0], first.orientation[1], first.orientation[2]};
  const Vec col{first.orientation[3], first.orientation[4], first.orientation[5]};
  const double tol = 10 * o.orientation_tolerance;
  if (std::abs(Dot(row, row) - 1) > tol || std::abs(Dot(col, col) - 1) > tol ||
      std::abs(Dot(row, col)) > tol) {
    return FileRefuse(first, "ImageOrientationPatient is not two orthogonal unit vectors");
  }
  const Vec normal = Cross(row, col);
  SCV_ASSIGN_OR_RETURN(const std::vector<Placed> placed, SortAlongNormal(slices, normal, notes));
  SCV_RETURN_IF_ERROR(CheckStacked(slices, placed, row, col, o));
  SCV_ASSIGN_OR_RETURN(const double spacing, UniformSpacing(slices, placed, o, notes));

  SeriesGeometry g;
  g.nx = first.columns;  // `first` dangles once the slices are reordered below
  g.ny = first.rows;
  std::vector<SliceHeader> sorted_slices;
  for (const Placed& p : placed) sorted_slices.push_back(std::move(slices[p.index]));
  slices = std::move(sorted_slices);
  g.nz = static_cast<int>(slices.size());
  g.spacing = {slices.front().pixel_spacing[1], slices.front().pixel_spacing[0], spacing};
  g.origin = slices.front().position;
  g.direction = {row[0], row[1], row[2], col[0], col[1], col[2], normal[0], normal[1], normal[2]};
  return g;
}

}  // namespace scancov::node
