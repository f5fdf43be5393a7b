#include "node/bedside/bedside_ct.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "models/ct/calcium.h"
#include "models/ct/hu_lesions.h"
#include "models/ct/lung_mask.h"
#include "models/ct/overlay.h"
#include "models/ct/png.h"
#include "node/bedside/learned_segmentation.h"

namespace scancov::node {
namespace {

LearnedOptions Learned(const BedsideOptions& options) {
  LearnedOptions learned;
  learned.in_plane = options.model_in_plane;
  learned.device = options.device;
  learned.precision = options.precision;
  learned.threads = options.threads;
  return learned;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<LungStage> SegmentLungs(const HuVolume& hu, const BedsideOptions& options,
                                       bool left_at_high_column) {
  LungStage stage;
  if (!options.lung_checkpoint.empty()) {
    SCV_ASSIGN_OR_RETURN(const std::string precision, LearnedPrecision(Learned(options)));
    SCV_ASSIGN_OR_RETURN(stage.labels,
                         PredictLungLabels(options.lung_checkpoint, hu, Learned(options)));
    stage.method =
        absl::StrCat("learned 2D U-Net (", Basename(options.lung_checkpoint), ") in ", precision);
    return stage;
  }
  ct::LungMaskOptions mask_options;
  mask_options.threads = options.threads;
  mask_options.left_at_high_column = left_at_high_column;
  absl::StatusOr<ct::LungMaskResult> mask = ct::ComputeLungMask(hu, mask_options);
  if (!mask.ok()) {
    if (mask.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(
          absl::StrCat("not a chest CT: ", std::string(mask.status().message())));
    }
    return mask.status();
  }
  stage.labels = std::move(mask->labels);
  stage.notes = std::move(mask->notes);
  stage.method = "model-free (HU, airways removed)";
  return stage;
}

absl::Status CheckChestLungs(const LabelVolume& lungs, double min_lung_volume_ml) {
  int64_t right = 0, left = 0;
  for (uint8_t v : lungs.voxels) {
    right += v == ct::kRightLung;
    left += v == ct::kLeftLung;
  }
  const double ml = lungs.VoxelVolumeMm3() / 1000.0;
  const std::string found =
      absl::StrFormat("right lung %.0f mL, left lung %.0f mL", right * ml, left * ml);
  if (right == 0 || left == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("not a chest CT: the lung mask does not hold two lungs (", found, ")"));
  }
  if ((right + left) * ml < min_lung_volume_ml) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "not a chest CT: total lung volume %.2f L is below %.2f L (%s); a partial or "
        "non-chest scan cannot give a lesion extent",
        (right + left) * ml / 1000.0, min_lung_volume_ml / 1000.0, found));
  }
  return absl::OkStatus();
}

absl::StatusOr<LabelVolume> SegmentLesions(const HuVolume& hu, const LabelVolume& lungs,
                                           const BedsideOptions& options, std::string* method) {
  if (!options.lesion_checkpoints.empty()) {
    SCV_ASSIGN_OR_RETURN(const std::string precision, LearnedPrecision(Learned(options)));
    *method = absl::StrCat("learned ensemble of ", options.lesion_checkpoints.size(),
                           " model(s), probabilities averaged, in ", precision);
    return PredictLesionLabels(options.lesion_checkpoints, hu, lungs, Learned(options));
  }
  const ct::HuIntervalBounds& b = options.hu_lesions.bounds;
  *method = absl::StrCat("HU intervals inside the lungs (GGO [", b.ggo_low, ", ", b.semi_low,
                         "), crazy paving ~ semi-consolidation [", b.semi_low, ", ",
                         b.consolidation_low, "), consolidation >= ", b.consolidation_low,
                         "): an approximation of the learned classes");
  ct::HuLesionOptions hu_options = options.hu_lesions;
  hu_options.threads = options.threads;
  return ct::ClassifyLesionsByHu(hu, lungs, hu_options);
}

absl::Status QuantifyCt(const HuVolume& hu, const LabelVolume& lungs, const LabelVolume& lesions,
                        const BedsideOptions& options, BedsideResult& result) {
  SCV_ASSIGN_OR_RETURN(result.lesions, ct::QuantifyLesions(lungs, lesions));
  SCV_ASSIGN_OR_RETURN(result.hu_intervals, ct::QuantifyHuIntervals(hu, lungs));
  result.disease_extent = result.lesions.both.extent_score;
  ct::CalciumOptions calcium_options;
  calcium_options.threads = options.threads;
  absl::StatusOr<ct::CalciumResult> calcium =
      ct::MeasureCardiovascularCalcium(hu, lungs, calcium_options);
  if (calcium.ok()) {
    result.calcium_available = true;
    result.calcium_volume_mm3 = calcium->volume_mm3;
  } else {
    result.notes.push_back(
        absl::StrCat("calcium not measured: ", std::string(calcium.status().message())));
  }
  return absl::OkStatus();
}

absl::Status RenderReportImages(const HuVolume& hu, const LabelVolume& lungs,
                                const LabelVolume& lesions, int count, bool superior_at_high_k,
                                BedsideResult& result) {
  std::vector<int64_t> lesion_per_slice(hu.nz, 0);
  int k_first = hu.nz, k_last = -1;
  const size_t plane = static_cast<size_t>(hu.nx) * hu.ny;
  for (int k = 0; k < hu.nz; ++k) {
    bool lung = false;
    for (size_t v = k * plane; v < (k + 1) * plane; ++v) {
      lung |= lungs.voxels[v] != 0;
      lesion_per_slice[k] += lesions.voxels[v] >= ct::kLesionGgo;
    }
    if (lung) {
      k_first = std::min(k_first, k);
      k_last = std::max(k_last, k);
    }
  }
  if (k_last < 0) return absl::FailedPreconditionError("report images: no lung slice");
  const int span = k_last - k_first + 1;
  count = std::clamp(count, 1, span);
  static const char* kZones3[] = {"lower", "middle", "upper"};
  for (int z = 0; z < count; ++z) {
    const int lo = k_first + span * z / count, hi = k_first + span * (z + 1) / count;
    int best = (lo + hi) / 2;
    for (int k = lo; k < hi; ++k) {
      if (lesion_per_slice[k] > lesion_per_slice[best]) best = k;
    }
    SCV_ASSIGN_OR_RETURN(ct::RgbImage image, ct::RenderOverlay(hu, &lungs, &lesions, best));
    OverlayImage overlay;
    overlay.slice = best;
    overlay.lesion_voxels = lesion_per_slice[best];
    const int zone = superior_at_high_k ? z : count - 1 - z;
    overlay.zone = count == 3 ? kZones3[zone] : absl::StrCat("zone ", zone + 1, "/", count);
    SCV_ASSIGN_OR_RETURN(overlay.png, ct::EncodePng(image));
    result.overlays.push_back(std::move(overlay));
  }
  // Upper zone first, as a radiologist scrolls from the apex.
  if (superior_at_high_k) std::reverse(result.overlays.begin(), result.overlays.end());
  SCV_ASSIGN_OR_RETURN(result.chart_png, ct::EncodePng(ct::RenderSummaryChart(result.lesions)));
  return absl::OkStatus();
}

}  // namespace scancov::node
