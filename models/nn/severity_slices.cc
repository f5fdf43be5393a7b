#include "models/nn/severity_slices.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/ct/preprocessing.h"

namespace scancov::nn {
namespace {

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("severity scan: ", why));
}

std::vector<ct::HuWindow> WindowsOf(SeverityWindow window) {
  if (window == SeverityWindow::kSingle) return {ct::SeverityWindow()};
  const std::array<ct::HuWindow, 3> three = ct::SeverityChannelWindows();
  return {three.begin(), three.end()};
}

// The masked CT and its mask on the grid the network sees (steps 2-4 of the header).
absl::StatusOr<std::pair<HuVolume, LabelVolume>> MaskedOnSliceGrid(const SeverityScan& scan,
                                                                   const SliceEncoderConfig& config,
                                                                   int threads) {
  SCV_ASSIGN_OR_RETURN(HuVolume hu, ct::MaskOutside(scan.ct, scan.lungs, kSeverityMaskHu));
  LabelVolume lungs = scan.lungs;
  const double dz = config.slice_spacing_mm;
  if (dz > 0.0 && std::abs(hu.spacing[2] - dz) > 1e-6) {
    const std::array<double, 3> spacing{hu.spacing[0], hu.spacing[1], dz};
    SCV_ASSIGN_OR_RETURN(hu, ct::ResampleHu(hu, spacing, threads));
    SCV_ASSIGN_OR_RETURN(lungs, ct::ResampleLabels(lungs, spacing, threads));
  }
  const int size = static_cast<int>(config.slice_size);
  SCV_ASSIGN_OR_RETURN(hu, ct::FitInPlaneHu(hu, size, threads));
  SCV_ASSIGN_OR_RETURN(lungs, ct::FitInPlaneLabels(lungs, size, threads));
  SCV_ASSIGN_OR_RETURN(hu, ct::MaskOutside(hu, lungs, kSeverityMaskHu));
  return std::make_pair(std::move(hu), std::move(lungs));
}

// Lung pixels of each slice.
std::vector<int64_t> LungPixelsPerSlice(const LabelVolume& lungs) {
  const size_t plane = static_cast<size_t>(lungs.nx) * lungs.ny;
  std::vector<int64_t> counts(lungs.nz, 0);
  for (int k = 0; k < lungs.nz; ++k) {
    const auto first = lungs.voxels.begin() + k * plane;
    counts[k] = std::count_if(first, first + plane, [](uint8_t v) { return v != 0; });
  }
  return counts;
}

}  // namespace

absl::Status ValidateSeverityScan(const SeverityScan& scan) {
  const HuVolume& ct = scan.ct;
  if (ct.nx < 1 || ct.ny < 1 || ct.nz < 1 || ct.voxels.size() != ct.size()) {
    return Invalid(absl::StrCat("the CT volume is empty or inconsistent (", ct.nx, " x ", ct.ny,
                                " x ", ct.nz, ", ", ct.voxels.size(), " voxels)"));
  }
  for (double s : ct.spacing) {
    if (!(std::isfinite(s) && s > 0.0)) return Invalid("the CT spacing must be finite and > 0");
  }
  if (!scan.lungs.SameGrid(ct) || scan.lungs.voxels.size() != scan.lungs.size()) {
    return Invalid(absl::StrCat("the lung mask grid (", scan.lungs.nx, " x ", scan.lungs.ny, " x ",
                                scan.lungs.nz, ") differs from the CT grid (", ct.nx, " x ", ct.ny,
                                " x ", ct.nz, ") or its spacing"));
  }
  if (std::none_of(scan.lungs.voxels.begin(), scan.lungs.voxels.end(),
                   [](uint8_t v) { return v != 0; })) {
    return Invalid("the lung mask has no lung voxel");
  }
  return absl::OkStatus();
}

absl::StatusOr<SeveritySlices> PrepareSeveritySlices(const SeverityScan& scan,
                                                     const SliceEncoderConfig& config,
                                                     int threads) {
  SCV_RETURN_IF_ERROR(ValidateSliceEncoderConfig(config));
  SCV_RETURN_IF_ERROR(ValidateSeverityScan(scan));
  SCV_ASSIGN_OR_RETURN(auto grid, MaskedOnSliceGrid(scan, config, threads));
  const auto& [hu, lungs] = grid;
  const std::vector<int64_t> counts = LungPixelsPerSlice(lungs);
  const int64_t most = *std::max_element(counts.begin(), counts.end());
  if (most == 0) return Invalid("no lung pixel left after resampling (mask too small)");
  const int64_t needed = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(config.min_lung_fraction * static_cast<double>(most))));

  SCV_ASSIGN_OR_RETURN(std::vector<ct::FloatVolume> windowed,
                       ct::ApplyWindows(hu, WindowsOf(config.window), threads));
  SeveritySlices out;
  out.channels = config.in_channels();
  out.size = config.slice_size;
  const size_t plane = static_cast<size_t>(out.size * out.size);
  for (int k = 0; k < lungs.nz; ++k) {
    if (counts[k] < needed) continue;
    out.slice_index.push_back(k);
    out.lung_pixels.push_back(counts[k]);
    for (const ct::FloatVolume& channel : windowed) {
      const auto first = channel.voxels.begin() + k * plane;
      out.values.insert(out.values.end(), first, first + plane);
    }
  }
  return out;
}

}  // namespace scancov::nn
