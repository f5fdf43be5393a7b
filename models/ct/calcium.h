// Total cardiovascular thoracic calcium volume (AI-SCoRE's fifth variable: coronary arteries,
// aortic valve, thoracic aorta), model-free, from HU and the lung mask.
//
// Method:
//   1. Region of interest, per slice: the convex hull of both lungs' pixels, minus the lungs.
//      Between the lungs this is the mediastinum: heart, aortic root and valve, ascending aorta,
//      arch and descending aorta (which lie between the lungs or medial to them down to the
//      bases, where the lung crescents around the domes still span the heart).
//   2. Candidates: voxels >= threshold_hu (130 HU, the Agatston threshold), 26-connected in 3-D
//      over the whole scan (not only the ROI), so that a rib, the sternum or a vertebra is one
//      component that reaches outside the ROI.
//   3. A component counts as calcium when all its voxels lie in the ROI (bone mostly leaves it:
//      ribs, sternum and the vertebral arches run beyond the lungs' hull), it is thin (no voxel
//      deeper than max_thickness_mm / 2 inside it, from a distance transform: plaques, the
//      valve ring and the aortic wall are a few millimetres thick, while a vertebral body cut
//      off by its discs from its arch, which lies inside the hull, is solid bone 30 mm across),
//      its volume is at least min_component_mm3
//      (1 mm^3, which drops single noise voxels on sub-millimetre grids, as Agatston scoring
//      does) or, smaller, its peak reaches small_component_min_hu (300 HU: 260 HU above soft
//      tissue is 10+ noise standard deviations, so a single voxel that bright is calcium, not
//      noise; the phantom paints thin calcium as scattered single voxels on fine grids), and its
//      peak HU stays below device_min_hu (1000 by default: catheters, wires, pacemaker leads and
//      the radio-opaque line of a tube are metal or barium, far denser than vascular calcium, which
//      rarely exceeds 1000 HU in unenhanced CT).
//   The volume is the number of calcium voxels times the voxel volume (no partial-volume
//   correction). Known limits: calcium touching bone (an aortic plaque against a vertebra) is
//   lost with the bone; contrast-enhanced scans need a higher threshold (the blood pool is above
//   130 HU); a calcified lymph node in the mediastinum is counted.
#ifndef SCANCOV_MODELS_CT_CALCIUM_H_
#define SCANCOV_MODELS_CT_CALCIUM_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/volume.h"

namespace scancov::ct {

struct CalciumOptions {
  int threshold_hu = 130;
  double min_component_mm3 = 1.0;
  int small_component_min_hu = 300;
  int device_min_hu = 1000;
  double max_thickness_mm = 10;
  int threads = 0;
};

struct CalciumResult {
  LabelVolume mask;  // 0 / 1 calcium voxels
  LabelVolume roi;   // 0 / 1 the region of interest of step 1
  int64_t voxels = 0;
  double volume_mm3 = 0;
  int components = 0;
  int rejected_outside_roi = 0;  // bone and anything reaching outside the ROI
  int rejected_thick = 0;        // solid bone inside the ROI
  int rejected_small = 0;
  int rejected_device = 0;
};

// Fails with InvalidArgument when the grids differ, and with FailedPrecondition when the lung
// map is empty (no ROI can be built).
absl::StatusOr<CalciumResult> MeasureCardiovascularCalcium(const HuVolume& hu,
                                                           const LabelVolume& lungs,
                                                           const CalciumOptions& options = {});

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_CALCIUM_H_
