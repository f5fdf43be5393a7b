// Left/right split of a connected air component that holds both lungs (lungs fused at the
// anterior or posterior junction line, where the pleural layers between them are thinner than a
// voxel, or joined through a remnant of the airways).
//
// Method: erode the component by increasing radii (from a 3-D Euclidean distance transform, so
// each radius costs one threshold and one component labelling) until it falls apart into two
// large parts on opposite sides of the body's midline (the smaller at least
// `min_part_ratio` of the larger); those are the lung cores. Every voxel of the component then
// goes to the core it is geodesically nearest to (6-connected breadth-first search inside the
// component). If no radius up to max_radius_mm separates the lungs, the voxels are split at the
// midline column.
//
// Sides: the core at lower column index is the patient's right lung when
// `left_at_high_column` (DICOM LPS, a standard axial series: column index grows to the
// patient's left); the other way round for RAS-ordered grids.
#ifndef SCANCOV_MODELS_CT_LUNG_SPLIT_H_
#define SCANCOV_MODELS_CT_LUNG_SPLIT_H_

#include "core/volume.h"

namespace scancov::ct {

struct SplitOptions {
  double step_mm = 0;  // 0: the smallest voxel spacing
  double max_radius_mm = 30;
  double min_part_ratio = 0.2;
  int threads = 0;
};

struct SplitResult {
  LabelVolume labels;  // 0 outside the component, 1 right lung, 2 left lung
  bool by_erosion = false;
  double erosion_mm = 0;  // the radius that separated the cores (by_erosion)
};

// `component` (non-zero = voxel of the fused component); `midline_column` is the body's centre
// column (used for the sides and for the fallback).
SplitResult SplitFusedLungs(const LabelVolume& component, double midline_column,
                            bool left_at_high_column, const SplitOptions& options = {});

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_LUNG_SPLIT_H_
