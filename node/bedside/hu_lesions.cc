#include "node/bedside/hu_lesions.h"

#include <algorithm>
#include <cstdint>

#include "models/ct/connected_components.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/morphology.h"
#include "models/ct/parallel.h"
#include "models/ct/volume_box.h"

namespace scancov::node {
namespace {

uint8_t ClassOf(int hu, const ct::HuIntervalBounds& b) {
  if (hu >= b.consolidation_low) return ct::kLesionConsolidation;
  if (hu >= b.semi_low) return ct::kLesionCrazyPaving;
  if (hu >= b.ggo_low) return ct::kLesionGgo;
  return ct::kLesionHealthy;
}

// Classes of the lung voxels of `lungs` (cropped) from `hu` (same crop), smoothed or not.
LabelVolume ClassifyVoxels(const HuVolume& hu, const LabelVolume& lungs,
                           const HuLesionOptions& options) {
  LabelVolume classes(lungs.nx, lungs.ny, lungs.nz, lungs.spacing, ct::kLesionBackground);
  ct::ParallelFor(0, lungs.nz, options.threads, [&](int k0, int k1) {
    for (int k = k0; k < k1; ++k) {
      for (int j = 0; j < lungs.ny; ++j) {
        for (int i = 0; i < lungs.nx; ++i) {
          if (lungs.at(k, j, i) == 0) continue;
          int value = hu.at(k, j, i);
          if (options.smooth) {
            // 3 x 3 in-plane mean; at the crop border only the neighbours that exist.
            int sum = 0, n = 0;
            for (int dj = -1; dj <= 1; ++dj) {
              const int jj = j + dj;
              if (jj < 0 || jj >= lungs.ny) continue;
              for (int di = -1; di <= 1; ++di) {
                const int ii = i + di;
                if (ii < 0 || ii >= lungs.nx) continue;
                sum += hu.at(k, jj, ii);
                ++n;
              }
            }
            value = sum / n;
          }
          classes.at(k, j, i) = ClassOf(value, options.bounds);
        }
      }
    }
  });
  return classes;
}

// Keeps the lesion voxels that survive the in-plane opening and belong to a large enough
// component; the others become healthy.
void CleanLesions(LabelVolume& classes, const HuLesionOptions& options) {
  LabelVolume mask(classes.nx, classes.ny, classes.nz, classes.spacing, 0);
  for (size_t v = 0; v < classes.voxels.size(); ++v) {
    mask.voxels[v] = classes.voxels[v] >= ct::kLesionGgo ? 1 : 0;
  }
  if (options.opening_radius_mm > 0) {
    const LabelVolume eroded = ct::Erode(mask, options.opening_radius_mm, true, options.threads);
    const LabelVolume opened =
        ct::Dilate(eroded, options.opening_radius_mm, true, options.threads);
    for (size_t v = 0; v < mask.voxels.size(); ++v) mask.voxels[v] &= opened.voxels[v];
  }
  if (options.min_component_ml > 0) {
    const ct::Components c = ct::LabelComponents(mask, ct::Connectivity::kFull);
    const double voxel_ml = mask.VoxelVolumeMm3() / 1000.0;
    for (size_t v = 0; v < mask.voxels.size(); ++v) {
      const int32_t label = c.labels[v];
      if (label != 0 && c.sizes[label] * voxel_ml < options.min_component_ml) mask.voxels[v] = 0;
    }
  }
  for (size_t v = 0; v < classes.voxels.size(); ++v) {
    if (classes.voxels[v] >= ct::kLesionGgo && mask.voxels[v] == 0) {
      classes.voxels[v] = ct::kLesionHealthy;
    }
  }
}

}  // namespace

absl::StatusOr<LabelVolume> ClassifyLesionsByHu(const HuVolume& hu, const LabelVolume& lungs,
                                                const HuLesionOptions& options) {
  if (!hu.SameGrid(lungs) || hu.voxels.size() != lungs.voxels.size()) {
    return absl::InvalidArgumentError("hu lesions: CT and lung mask are on different grids");
  }
  const ct::HuIntervalBounds& b = options.bounds;
  if (!(b.ggo_low < b.semi_low && b.semi_low < b.consolidation_low)) {
    return absl::InvalidArgumentError("hu lesions: HU bounds must increase");
  }
  LabelVolume out(hu.nx, hu.ny, hu.nz, hu.spacing, ct::kLesionBackground);
  const ct::Box box =
      ct::BoundingBox<uint8_t>(lungs, [](uint8_t v) { return v != 0; });
  if (box.empty()) return out;
  // One voxel of margin in plane so the smoothing sees the voxels next to the lungs.
  const ct::Box crop = ct::Expand(box, 1, 1, 0, lungs);
  LabelVolume classes = ClassifyVoxels(ct::Crop(hu, crop), ct::Crop(lungs, crop), options);
  CleanLesions(classes, options);
  ct::ForEachInBox(out, crop, [&](size_t c, size_t f) { out.voxels[f] = classes.voxels[c]; });
  return out;
}

}  // namespace scancov::node
