#include "models/ct/hu_lesions.h"

#include <algorithm>
#include <cstdint>

#include "models/ct/connected_components.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/morphology.h"
#include "models/ct/parallel.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {
namespace {

uint8_t ClassOf(int hu, const HuIntervalBounds& b) {
  if (hu >= b.consolidation_low) return kLesionConsolidation;
  if (hu >= b.semi_low) return kLesionCrazyPaving;
  if (hu >= b.ggo_low) return kLesionGgo;
  return kLesionHealthy;
}

// The median of 9 values by a fixed exchange network (Paeth's opt_med9: 19 compare-swaps).
inline int Median9(int* p) {
  auto sort2 = [](int& a, int& b) {
    if (a > b) std::swap(a, b);
  };
  sort2(p[1], p[2]);
  sort2(p[4], p[5]);
  sort2(p[7], p[8]);
  sort2(p[0], p[1]);
  sort2(p[3], p[4]);
  sort2(p[6], p[7]);
  sort2(p[1], p[2]);
  sort2(p[4], p[5]);
  sort2(p[7], p[8]);
  sort2(p[0], p[3]);
  sort2(p[5], p[8]);
  sort2(p[4], p[7]);
  sort2(p[3], p[6]);
  sort2(p[1], p[4]);
  sort2(p[2], p[5]);
  sort2(p[4], p[7]);
  sort2(p[4], p[2]);
  sort2(p[6], p[4]);
  sort2(p[4], p[2]);
  return p[4];
}

// Classes of the lung voxels of `lungs` (cropped) from `hu` (same crop), smoothed or not. The
// smoothing is a 3 x 3 in-plane median (the crop border repeats its edge voxels): it divides
// Gaussian noise by about 2.6 like a mean would, but keeps lesion edges where they are (a mean
// would paint a one-voxel rim of a lighter class around every lesion and vessel).
LabelVolume ClassifyVoxels(const HuVolume& hu, const LabelVolume& lungs,
                           const HuLesionOptions& options) {
  LabelVolume classes(lungs.nx, lungs.ny, lungs.nz, lungs.spacing, kLesionBackground);
  ParallelFor(0, lungs.nz, options.threads, [&](int k0, int k1) {
    int window[9];
    for (int k = k0; k < k1; ++k) {
      for (int j = 0; j < lungs.ny; ++j) {
        for (int i = 0; i < lungs.nx; ++i) {
          if (lungs.at(k, j, i) == 0) continue;
          int value = hu.at(k, j, i);
          if (options.smooth) {
            int n = 0;
            for (int dj = -1; dj <= 1; ++dj) {
              const int jj = std::clamp(j + dj, 0, lungs.ny - 1);
              for (int di = -1; di <= 1; ++di) {
                window[n++] = hu.at(k, jj, std::clamp(i + di, 0, lungs.nx - 1));
              }
            }
            value = Median9(window);
          }
          classes.at(k, j, i) = ClassOf(value, options.bounds);
        }
      }
    }
  });
  return classes;
}

// In-plane opening of a 0/1 mask (in place): keeps what a disk of `radius_mm` fits in.
void OpenInPlane(LabelVolume& mask, double radius_mm, int threads) {
  if (radius_mm <= 0) return;
  const LabelVolume opened =
      Dilate(Erode(mask, radius_mm, true, threads), radius_mm, true, threads);
  for (size_t v = 0; v < mask.voxels.size(); ++v) mask.voxels[v] &= opened.voxels[v];
}

LabelVolume MaskOf(const LabelVolume& classes, uint8_t min_class, uint8_t max_class) {
  LabelVolume mask(classes.nx, classes.ny, classes.nz, classes.spacing, 0);
  for (size_t v = 0; v < classes.voxels.size(); ++v) {
    mask.voxels[v] = classes.voxels[v] >= min_class && classes.voxels[v] <= max_class ? 1 : 0;
  }
  return mask;
}

// Keeps the lesion voxels that survive the openings and belong to a large enough component;
// the others become healthy.
void CleanLesions(LabelVolume& classes, const HuLesionOptions& options) {
  // Consolidation density in thin structures is vessels (or bronchial walls), not disease.
  LabelVolume dense = MaskOf(classes, kLesionConsolidation, kLesionConsolidation);
  OpenInPlane(dense, options.consolidation_opening_radius_mm, options.threads);
  for (size_t v = 0; v < classes.voxels.size(); ++v) {
    if (classes.voxels[v] == kLesionConsolidation && dense.voxels[v] == 0) {
      classes.voxels[v] = kLesionHealthy;
    }
  }
  LabelVolume mask = MaskOf(classes, kLesionGgo, kLesionConsolidation);
  OpenInPlane(mask, options.opening_radius_mm, options.threads);
  if (options.min_component_ml > 0) {
    const Components c = LabelComponents(mask, Connectivity::kFull);
    const double voxel_ml = mask.VoxelVolumeMm3() / 1000.0;
    for (size_t v = 0; v < mask.voxels.size(); ++v) {
      const int32_t label = c.labels[v];
      if (label != 0 && c.sizes[label] * voxel_ml < options.min_component_ml) mask.voxels[v] = 0;
    }
  }
  for (size_t v = 0; v < classes.voxels.size(); ++v) {
    if (classes.voxels[v] >= kLesionGgo && mask.voxels[v] == 0) {
      classes.voxels[v] = kLesionHealthy;
    }
  }
}

}  // namespace

absl::StatusOr<LabelVolume> ClassifyLesionsByHu(const HuVolume& hu, const LabelVolume& lungs,
                                                const HuLesionOptions& options) {
  if (!hu.SameGrid(lungs) || hu.voxels.size() != lungs.voxels.size()) {
    return absl::InvalidArgumentError("hu lesions: CT and lung mask are on different grids");
  }
  const HuIntervalBounds& b = options.bounds;
  if (!(b.ggo_low < b.semi_low && b.semi_low < b.consolidation_low)) {
    return absl::InvalidArgumentError("hu lesions: HU bounds must increase");
  }
  LabelVolume out(hu.nx, hu.ny, hu.nz, hu.spacing, kLesionBackground);
  const Box box = BoundingBox<uint8_t>(lungs, [](uint8_t v) { return v != 0; });
  if (box.empty()) return out;
  // One voxel of margin in plane so the smoothing sees the voxels next to the lungs.
  const Box crop = Expand(box, 1, 1, 0, lungs);
  LabelVolume classes = ClassifyVoxels(Crop(hu, crop), Crop(lungs, crop), options);
  CleanLesions(classes, options);
  ForEachInBox(out, crop, [&](size_t c, size_t f) { out.voxels[f] = classes.voxels[c]; });
  return out;
}

}  // namespace scancov::ct
