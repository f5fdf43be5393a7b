// Checks that the slices of one CT series can be stacked into a volume, and sorts them.
#ifndef SCANCOV_NODE_IMAGING_SERIES_CHECK_H_
#define SCANCOV_NODE_IMAGING_SERIES_CHECK_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/imaging/dicom_slice.h"

namespace scancov::node {

struct SeriesCheckOptions {
  // CT without RescaleSlope/RescaleIntercept (type 1 in the CT Image module) is refused: HU
  // cannot be trusted (a missing -1024 intercept shifts every feature). When true, stored
  // values are taken as HU (slope 1, intercept 0) and a note says so.
  bool assume_identity_rescale = false;
  // Slice spacing must be uniform within max(mm, fraction x spacing). A step larger than
  // gap_factor x the median spacing means missing slices.
  double spacing_tolerance_mm = 0.05;
  double spacing_tolerance_fraction = 0.02;
  double gap_factor = 1.5;
  // Direction cosines of all slices must agree to this, and be unit and orthogonal.
  double orientation_tolerance = 1e-3;
  // Slice origins may drift off the slice normal by this much (mm) before the series is
  // refused as tilted or sheared.
  double in_plane_tolerance_mm = 0.5;
};

struct SeriesGeometry {
  int nx = 0, ny = 0, nz = 0;
  std::array<double, 3> spacing{};    // column, row, slice spacing (mm)
  std::array<double, 3> origin{};     // LPS of the first sorted slice's first pixel
  std::array<double, 9> direction{};  // row, column, slice-normal unit vectors
};

// Checks pixel format, rescale and geometry of `slices` (all of one series, localizers and
// non-CT objects already removed), sorts them along the slice normal, drops exact duplicates
// (same SOP instance, with a note) and returns the volume geometry. The error (FailedPrecondition
// or Unimplemented) is the refusal reason, naming the file(s) by SliceHeader::name.
absl::StatusOr<SeriesGeometry> CheckAndSortSeries(std::vector<SliceHeader>& slices,
                                                  const SeriesCheckOptions& options,
                                                  std::vector<std::string>* notes);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_SERIES_CHECK_H_
