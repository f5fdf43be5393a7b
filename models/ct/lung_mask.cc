#include "models/ct/lung_mask.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/ct/lung_refine.h"
#include "models/ct/lung_split.h"
#include "models/ct/morphology.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {
namespace {

struct ComponentStats {
  int label = 0;
  int64_t size = 0;
  double mean_hu = 0;
  double mean_column = 0;
  int64_t low_side = 0;  // voxels at columns below the body's midline
  int64_t gas_like = 0;  // voxels below the gas threshold
};

absl::Status Validate(const HuVolume& hu) {
  if (hu.nx <= 0 || hu.ny <= 0 || hu.nz <= 0 || hu.voxels.size() != hu.size()) {
    return absl::InvalidArgumentError(absl::StrCat("lung mask: empty or inconsistent volume (",
                                                   hu.nx, "x", hu.ny, "x", hu.nz, ")"));
  }
  for (double s : hu.spacing) {
    if (!(s > 0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError("lung mask: voxel spacing must be positive");
    }
  }
  return absl::OkStatus();
}

// Air below the threshold, and the body: per slice, all that is not air connected to the border.
void AirAndBody(const HuVolume& hu, int threshold, int threads, LabelVolume& air,
                LabelVolume& body) {
  air = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  body = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  for (size_t v = 0; v < hu.voxels.size(); ++v) {
    air.voxels[v] = hu.voxels[v] < threshold ? 1 : 0;
    body.voxels[v] = air.voxels[v] ? 0 : 1;
  }
  FillHolesInSlices(body, threads);
}

double MidlineColumn(const LabelVolume& body) {
  double sum = 0;
  int64_t n = 0;
  for (int k = 0; k < body.nz; ++k) {
    for (int j = 0; j < body.ny; ++j) {
      for (int i = 0; i < body.nx; ++i) {
        if (body.at(k, j, i)) {
          sum += i;
          ++n;
        }
      }
    }
  }
  return n ? sum / n : 0.5 * (body.nx - 1);
}

std::vector<ComponentStats> Stats(const Components& cc, const HuVolume& hu, double midline,
                                  int gas_hu) {
  std::vector<ComponentStats> s(cc.count + 1);
  for (size_t v = 0; v < cc.labels.size(); ++v) {
    const int l = cc.labels[v];
    if (!l) continue;
    const int i = static_cast<int>(v % hu.nx);
    s[l].mean_hu += hu.voxels[v];
    s[l].mean_column += i;
    if (i < midline) ++s[l].low_side;
    if (hu.voxels[v] < gas_hu) ++s[l].gas_like;
  }
  for (int l = 1; l <= cc.count; ++l) {
    s[l].label = l;
    s[l].size = cc.sizes[l];
    s[l].mean_hu /= static_cast<double>(cc.sizes[l]);
    s[l].mean_column /= static_cast<double>(cc.sizes[l]);
  }
  return s;
}

// Steps 4 and 5 of the header: the lung components, labelled 1 (right) / 2 (left).
absl::StatusOr<LabelVolume> SelectLungs(const HuVolume& hu, const LabelVolume& candidates,
                                        double midline, const LungMaskOptions& o,
                                        LungMaskResult& result) {
  const Components cc = LabelComponents(candidates, o.connectivity);
  const std::vector<ComponentStats> stats = Stats(cc, hu, midline, o.gas_hu);
  auto is_gas = [&](const ComponentStats& s) {
    return s.mean_hu < o.gas_hu ||
           static_cast<double>(s.gas_like) >= o.gas_max_fraction * static_cast<double>(s.size);
  };
  int64_t largest = 0;
  for (int l = 1; l <= cc.count; ++l) {
    if (!is_gas(stats[l])) largest = std::max(largest, stats[l].size);
  }
  const double voxel_ml = hu.VoxelVolumeMm3() / 1000.0;
  const int64_t min_size = std::max<int64_t>(
      1, static_cast<int64_t>(std::max(o.min_component_ml / voxel_ml,
                                       o.min_component_fraction * static_cast<double>(largest))));
  const uint8_t low_value = o.left_at_high_column ? kRightLung : kLeftLung;
  const uint8_t high_value = o.left_at_high_column ? kLeftLung : kRightLung;
  std::vector<uint8_t> value_of(cc.count + 1, 0);
  std::vector<int> fused;
  for (int l = 1; l <= cc.count; ++l) {
    const ComponentStats& s = stats[l];
    if (s.size < min_size || is_gas(s)) continue;
    const double low_fraction = static_cast<double>(s.low_side) / static_cast<double>(s.size);
    if (low_fraction >= o.fused_side_fraction && 1 - low_fraction >= o.fused_side_fraction) {
      fused.push_back(l);
    } else {
      value_of[l] = s.mean_column < midline ? low_value : high_value;
    }
  }
  LabelVolume labels(hu.nx, hu.ny, hu.nz, hu.spacing);
  bool any = !fused.empty();
  for (size_t v = 0; v < labels.voxels.size(); ++v) {
    labels.voxels[v] = value_of[cc.labels[v]];
    any |= labels.voxels[v] != 0;
  }
  if (!any) {
    return absl::NotFoundError(
        absl::StrCat("lung mask: no air component inside the body qualifies as lung (", cc.count,
                     " components)"));
  }
  for (int l : fused) {
    LabelVolume component(hu.nx, hu.ny, hu.nz, hu.spacing);
    for (size_t v = 0; v < labels.voxels.size(); ++v) component.voxels[v] = cc.labels[v] == l;
    SplitOptions split;
    split.threads = o.threads;
    const SplitResult r = SplitFusedLungs(component, midline, o.left_at_high_column, split);
    for (size_t v = 0; v < labels.voxels.size(); ++v) {
      if (r.labels.voxels[v]) labels.voxels[v] = r.labels.voxels[v];
    }
    result.lungs_fused = true;
    result.notes.push_back(
        r.by_erosion
            ? absl::StrCat("lung mask: fused lungs split by a ", r.erosion_mm, " mm erosion")
            : std::string("lung mask: fused lungs split at the body midline"));
  }
  return labels;
}

}  // namespace

absl::StatusOr<LungMaskResult> ComputeLungMask(const HuVolume& hu, const LungMaskOptions& o) {
  absl::Status valid = Validate(hu);
  if (!valid.ok()) return valid;
  LungMaskResult result;
  LabelVolume air, body;
  AirAndBody(hu, o.air_threshold_hu, o.threads, air, body);
  LabelVolume candidates(hu.nx, hu.ny, hu.nz, hu.spacing);
  for (size_t v = 0; v < air.voxels.size(); ++v) {
    candidates.voxels[v] = air.voxels[v] && body.voxels[v];
  }
  result.airways = LabelVolume(hu.nx, hu.ny, hu.nz, hu.spacing);
  if (o.remove_airways) {
    AirwayOptions airway = o.airway;
    airway.threads = o.threads;
    AirwayResult a = SegmentAirways(hu, candidates, body, airway);
    result.airways_found = a.found;
    if (a.found) {
      for (size_t v = 0; v < candidates.voxels.size(); ++v) {
        if (a.mask.voxels[v]) candidates.voxels[v] = 0;
      }
      result.airways = std::move(a.mask);
    } else {
      result.notes.push_back(a.note);
    }
  }
  const double midline = MidlineColumn(body);
  absl::StatusOr<LabelVolume> selected = SelectLungs(hu, candidates, midline, o, result);
  if (!selected.ok()) return selected.status();
  result.labels = *std::move(selected);

  RefineOptions refine;
  refine.closing_radius_mm = o.closing_radius_mm;
  refine.max_fill_hu = o.max_fill_hu;
  refine.fill_costal_bays = o.fill_costal_bays;
  refine.costal_max_gap_deg = o.costal_max_gap_deg;
  refine.costal_min_hu = o.costal_min_hu;
  refine.threads = o.threads;
  const SliceCentres centres = BodyCentres(body);
  // The lungs may not grow back into the airways they were cut from.
  for (size_t v = 0; v < body.voxels.size(); ++v) {
    if (result.airways.voxels[v]) body.voxels[v] = 0;
  }
  const LabelVolume initial = result.labels;
  for (uint8_t side : {kRightLung, kLeftLung}) {
    const Box tight = BoundingBox<uint8_t>(initial, [side](uint8_t v) { return v == side; });
    if (tight.empty()) continue;
    auto margin = [&](int axis) {
      return static_cast<int>(std::ceil(o.closing_radius_mm / hu.spacing[axis])) + 2;
    };
    const Box box = Expand(tight, margin(0), margin(1), margin(2), hu);
    const LabelVolume lung = RefineLung(hu, body, centres, initial, side, box, refine);
    // Additions never take the other lung's voxels; where both lungs add the same voxel the
    // first (right) keeps it.
    ForEachInBox(hu, box, [&](size_t c, size_t f) {
      if (lung.voxels[c] && result.labels.voxels[f] == kNoLung) result.labels.voxels[f] = side;
    });
  }
  for (uint8_t v : result.labels.voxels) {
    result.right_voxels += v == kRightLung;
    result.left_voxels += v == kLeftLung;
  }
  if (result.right_voxels == 0 || result.left_voxels == 0) {
    result.notes.push_back(absl::StrCat("lung mask: only the ",
                                        result.right_voxels ? "right" : "left", " lung found"));
  }
  return result;
}

}  // namespace scancov::ct
