// A model-free lung mask with left/right labels, from HU alone.
//
// Pipeline (each step documented where it is implemented):
//   1. Air: HU < air_threshold_hu (-400: lung parenchyma is about -850, soft tissue above
//      -150, so the threshold sits in the gap and tolerates noise and partial volume).
//   2. Body: per slice, everything that is not air 4-connected to the image border (outside
//      air, and the padding outside the reconstruction circle, -2048/-3024 HU, are both air).
//   3. Airways: the trachea and main bronchi are grown from a trachea seed and removed
//      (airway.h), so they neither join the lungs nor count as lung.
//   4. Lung candidates: 3-D connected components (6-connectivity by default) of the remaining
//      air inside the body. A component is lung when it has at least min_component_ml and
//      min_component_fraction of the largest lung-like component, and is not gas: its mean HU
//      is at least gas_hu (-950) and fewer than gas_max_fraction (35%) of its voxels are below
//      gas_hu. Gas (stomach, bowel with stool, an airway remnant) is -1000 HU with a rim of
//      partial volume, so most of its voxels are below -950 even when the mean is not; lung
//      parenchyma has a few percent there (the emphysema index LAA-950: under 10% in most
//      patients, 35% only in very severe emphysema, which would then be mistaken for gas).
//   5. Sides: a component is the right or the left lung by its mean column against the body's
//      midline column; a component with at least fused_side_fraction of its voxels on each
//      side holds both lungs and is split (lung_split.h).
//   6. Refinement, per lung on its bounding box: (a) per-slice hole filling, which brings back
//      vessels, intrapulmonary bronchi and lesions enclosed by aerated lung (GGO, crazy paving,
//      and consolidation up to soft-tissue density); (b) a 3-D closing with a ball of
//      closing_radius_mm, whose additions are kept where they are inside the body, not bone
//      (HU < max_fill_hu) and not the other lung; it fills lesions and vessels that touch the
//      pleura in narrow bays and the partial-volume rim at the hilum; (c) costal bays: a lesion
//      at the chest wall (subpleural consolidation, which thresholding misses entirely) leaves
//      a dent in the lung's outer contour that hole filling cannot close. Per slice and angle
//      around the body's centre, the lung is extended outwards over soft tissue
//      (costal_min_hu..max_fill_hu) up to the inner surface of the rib cage minus a pleural
//      gap where the lung's edge shows lesion density (ground glass or crazy paving at the
//      rim), or up to the radius interpolated between aerated neighbours on both sides of a
//      dent narrower than costal_max_gap_deg (lung_refine.h);
//      (d) hole filling again.
//
// Orientation: `left_at_high_column` (default true) is right for DICOM LPS grids (column index
// grows to the patient's left, so the right lung is at low columns; core/volume.h,
// node/imaging/ct_volume.h); set it false for RAS-ordered arrays (NIfTI as nibabel stores it).
//
// Thread-safe (no shared state); multi-threaded over slices with `threads` (0 = hardware).
#ifndef SCANCOV_MODELS_CT_LUNG_MASK_H_
#define SCANCOV_MODELS_CT_LUNG_MASK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/volume.h"
#include "models/ct/airway.h"
#include "models/ct/connected_components.h"

namespace scancov::ct {

// Lung label values of the output (as sites/ct's phantom truth).
enum LungLabelValue : uint8_t { kNoLung = 0, kRightLung = 1, kLeftLung = 2 };

struct LungMaskOptions {
  int air_threshold_hu = -400;
  double min_component_ml = 0.5;
  double min_component_fraction = 0.02;
  int gas_hu = -950;
  double gas_max_fraction = 0.35;
  double fused_side_fraction = 0.15;
  Connectivity connectivity = Connectivity::kFace;
  bool remove_airways = true;
  AirwayOptions airway;
  double closing_radius_mm = 10;
  int max_fill_hu = 250;
  bool fill_costal_bays = true;
  double costal_max_gap_deg = 70;
  int costal_min_hu = -200;
  bool left_at_high_column = true;
  int threads = 0;
};

struct LungMaskResult {
  LabelVolume labels;   // LungLabelValue per voxel, on the input grid
  LabelVolume airways;  // 0 / 1: the removed trachea and main bronchi
  int64_t right_voxels = 0;
  int64_t left_voxels = 0;
  bool airways_found = false;
  bool lungs_fused = false;  // a component held both lungs and was split
  std::vector<std::string> notes;
};

// Fails with InvalidArgument on an empty or inconsistent volume or a non-positive spacing, and
// with NotFound ("lung mask: ...") when no air component inside the body qualifies as lung.
absl::StatusOr<LungMaskResult> ComputeLungMask(const HuVolume& hu,
                                               const LungMaskOptions& options = {});

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_LUNG_MASK_H_
