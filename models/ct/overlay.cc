#include "models/ct/overlay.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace scancov::ct {
namespace {

void Blend(uint8_t* px, const Rgb& c, double alpha) {
  for (int i = 0; i < 3; ++i) {
    px[i] = static_cast<uint8_t>(std::lround((1 - alpha) * px[i] + alpha * c[i]));
  }
}

void Paint(uint8_t* px, const Rgb& c) { std::copy(c.begin(), c.end(), px); }

bool IsContour(const LabelVolume& lungs, int k, int j, int i) {
  const uint8_t l = lungs.at(k, j, i);
  if (i == 0 || j == 0 || i + 1 == lungs.nx || j + 1 == lungs.ny) return true;
  return lungs.at(k, j, i - 1) != l || lungs.at(k, j, i + 1) != l || lungs.at(k, j - 1, i) != l ||
         lungs.at(k, j + 1, i) != l;
}

}  // namespace

absl::StatusOr<RgbImage> RenderOverlay(const HuVolume& hu, const LabelVolume* lungs,
                                       const LabelVolume* lesions, int slice,
                                       const OverlayOptions& o) {
  if (slice < 0 || slice >= hu.nz || hu.voxels.size() != hu.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("overlay: slice ", slice, " outside 0..", hu.nz - 1));
  }
  if ((lungs && !lungs->SameGrid(hu)) || (lesions && !lesions->SameGrid(hu))) {
    return absl::InvalidArgumentError("overlay: label maps are not on the grid of the CT");
  }
  RgbImage img(hu.nx, hu.ny);
  for (int j = 0; j < hu.ny; ++j) {
    for (int i = 0; i < hu.nx; ++i) {
      uint8_t* px = img.at(i, j);
      const uint8_t g = WindowByte(hu.at(slice, j, i), o.window);
      px[0] = px[1] = px[2] = g;
      if (lesions) {
        switch (lesions->at(slice, j, i)) {
          case kLesionGgo:
            Blend(px, o.ggo, o.alpha);
            break;
          case kLesionCrazyPaving:
            Blend(px, o.crazy_paving, o.alpha);
            break;
          case kLesionConsolidation:
            Blend(px, o.consolidation, o.alpha);
            break;
          default:
            break;
        }
      }
      if (lungs && o.contours && lungs->at(slice, j, i) != 0 && IsContour(*lungs, slice, j, i)) {
        Paint(px, lungs->at(slice, j, i) == 1 ? o.right_contour : o.left_contour);
      }
    }
  }
  return img;
}

int MostAffectedSlice(const LabelVolume& lesions) {
  int best = lesions.nz / 2;
  int64_t most = 0;
  const size_t plane = static_cast<size_t>(lesions.nx) * lesions.ny;
  for (int k = 0; k < lesions.nz; ++k) {
    int64_t n = 0;
    for (size_t v = k * plane; v < (k + 1) * plane; ++v) n += lesions.voxels[v] >= kLesionGgo;
    if (n > most) {
      most = n;
      best = k;
    }
  }
  return best;
}

RgbImage RenderSummaryChart(const LesionQuantification& q, const OverlayOptions& o) {
  constexpr int kBarWidth = 60, kGap = 20, kHeight = 200;
  RgbImage img(3 * kBarWidth + 4 * kGap, kHeight + 2 * kGap);
  std::fill(img.rgb.begin(), img.rgb.end(), 255);
  const LungLesionStats* lungs[3] = {&q.right, &q.left, &q.both};
  const Rgb healthy{170, 170, 170};
  for (int b = 0; b < 3; ++b) {
    const LungLesionStats& s = *lungs[b];
    // From the bottom: consolidation, crazy paving, GGO, healthy.
    const double parts[4] = {s.consolidation_percent, s.crazy_paving_percent, s.ggo_percent,
                             100.0 - s.extent_percent};
    const Rgb colours[4] = {o.consolidation, o.crazy_paving, o.ggo, healthy};
    const int x0 = kGap + b * (kBarWidth + kGap);
    double bottom = 0;
    for (int p = 0; p < 4; ++p) {
      const int y_hi = kGap + kHeight - static_cast<int>(std::lround(bottom * kHeight / 100.0));
      bottom += s.lung_voxels > 0 ? parts[p] : 0;
      const int y_lo = kGap + kHeight - static_cast<int>(std::lround(bottom * kHeight / 100.0));
      for (int y = std::max(kGap, y_lo); y < y_hi; ++y) {
        for (int x = x0; x < x0 + kBarWidth; ++x) Paint(img.at(x, y), colours[p]);
      }
    }
  }
  return img;
}

std::string SummaryText(const LesionQuantification& q, const HuIntervalQuantification* hu,
                        const double* calcium_mm3) {
  std::string out =
      absl::StrFormat("%-6s %9s %7s %7s %7s %7s %5s %6s %6s %6s\n", "lung", "volume_mL", "GGO%",
                      "CP%", "cons%", "extent%", "score", "GGO/x", "CP/x", "cons/x");
  const std::pair<const char*, const LungLesionStats*> rows[3] = {
      {"right", &q.right}, {"left", &q.left}, {"both", &q.both}};
  for (const auto& [name, s] : rows) {
    absl::StrAppendFormat(&out, "%-6s %9.1f %7.2f %7.2f %7.2f %7.2f %5d %6.3f %6.3f %6.3f\n", name,
                          s->volume_ml, s->ggo_percent, s->crazy_paving_percent,
                          s->consolidation_percent, s->extent_percent, s->extent_score,
                          s->ggo_of_extent, s->crazy_paving_of_extent, s->consolidation_of_extent);
  }
  if (hu) {
    absl::StrAppendFormat(&out, "%-6s %8s %8s %8s %8s %8s\n", "HU", "low%", "aerated%", "GGO%",
                          "semi%", "cons%");
    const std::pair<const char*, const HuIntervalStats*> hrows[3] = {
        {"right", &hu->right}, {"left", &hu->left}, {"both", &hu->both}};
    for (const auto& [name, s] : hrows) {
      absl::StrAppendFormat(&out, "%-6s %8.2f %8.2f %8.2f %8.2f %8.2f\n", name,
                            s->low_attenuation_percent, s->well_aerated_percent, s->ggo_percent,
                            s->semi_consolidation_percent, s->consolidation_percent);
    }
  }
  if (calcium_mm3) {
    absl::StrAppendFormat(&out, "cardiovascular calcium: %.1f mm^3\n", *calcium_mm3);
  }
  return out;
}

}  // namespace scancov::ct
