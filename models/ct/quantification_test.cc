#include <cmath>
#include <cstdio>

#include "gtest/gtest.h"
#include "models/ct/calcium.h"
#include "models/ct/hu_intervals.h"
#include "models/ct/lesion_quantification.h"
#include "models/ct/lung_mask.h"
#include "models/ct/test_phantom.h"

namespace scancov::ct {
namespace {

using testing::MakePhantom;
using testing::SmallSpec;

TEST(ExtentScore, ReportScaleBoundaries) {
  EXPECT_EQ(ExtentScore(0.0), 0);
  EXPECT_EQ(ExtentScore(0.001), 1);
  EXPECT_EQ(ExtentScore(0.0999), 1);
  EXPECT_EQ(ExtentScore(0.10), 2);
  EXPECT_EQ(ExtentScore(0.2499), 2);
  EXPECT_EQ(ExtentScore(0.25), 3);
  EXPECT_EQ(ExtentScore(0.50), 4);
  EXPECT_EQ(ExtentScore(0.7499), 4);
  EXPECT_EQ(ExtentScore(0.75), 5);
  EXPECT_EQ(ExtentScore(1.0), 5);
}

TEST(LesionQuantification, HandExample) {
  // 2 x 2 x 1 mm voxels (4 uL). Right: 4 voxels, 1 GGO + 1 consolidation; left: 2 healthy.
  LabelVolume lungs(8, 1, 1, {1, 2, 2});
  LabelVolume lesions(8, 1, 1, {1, 2, 2});
  lungs.voxels = {0, 1, 1, 1, 1, 2, 2, 0};
  lesions.voxels = {4, 1, 2, 4, 0, 1, 1, 3};  // labels outside the lungs are ignored
  absl::StatusOr<LesionQuantification> q = QuantifyLesions(lungs, lesions);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->right.lung_voxels, 4);
  EXPECT_EQ(q->right.healthy_voxels, 2);  // label 1 and label 0 inside the lung
  EXPECT_DOUBLE_EQ(q->right.volume_ml, 0.016);
  EXPECT_DOUBLE_EQ(q->right.ggo_percent, 25.0);
  EXPECT_DOUBLE_EQ(q->right.consolidation_percent, 25.0);
  EXPECT_DOUBLE_EQ(q->right.extent_percent, 50.0);
  EXPECT_DOUBLE_EQ(q->right.ggo_of_extent, 0.5);
  EXPECT_DOUBLE_EQ(q->right.consolidation_of_extent, 0.5);
  EXPECT_EQ(q->right.extent_score, 4);
  EXPECT_EQ(q->left.extent_score, 0);
  EXPECT_DOUBLE_EQ(q->left.ggo_of_extent, 0.0);
  EXPECT_DOUBLE_EQ(q->both.extent_percent, 100.0 * 2 / 6);
  EXPECT_EQ(q->both.extent_score, 3);
  lungs.voxels[0] = 3;
  EXPECT_FALSE(QuantifyLesions(lungs, lesions).ok());
  EXPECT_FALSE(QuantifyLesions(lungs, LabelVolume(7, 1, 1, {1, 2, 2})).ok());
}

TEST(LesionQuantification, PhantomTruthMapsGiveTheTruthCounts) {
  testing::PhantomVolumes p = MakePhantom(SmallSpec(11, 0.3, 0.5, 0.3, 0.2));
  absl::StatusOr<LesionQuantification> q = QuantifyLesions(p.lungs, p.lesions);
  ASSERT_TRUE(q.ok());
  const sites::LungTruth& t = p.phantom.truth.right;
  EXPECT_EQ(q->right.lung_voxels, t.lung_voxels);
  EXPECT_EQ(q->right.ggo_voxels, t.ggo_voxels);
  EXPECT_EQ(q->right.crazy_paving_voxels, t.crazy_paving_voxels);
  EXPECT_EQ(q->right.consolidation_voxels, t.consolidation_voxels);
  EXPECT_NEAR(q->right.extent_percent, 100 * t.extent(), 1e-9);
  EXPECT_NEAR(q->left.extent_percent, 100 * p.phantom.truth.left.extent(), 1e-9);
  EXPECT_NEAR(q->right.extent_percent, 30.0, 0.01);
}

TEST(HuIntervals, HandExample) {
  HuVolume hu(8, 1, 1, {1, 1, 1});
  hu.voxels = {-1000, -960, -950, -800, -780, -571, -570, -290};
  LabelVolume lungs(8, 1, 1, {1, 1, 1}, 1);
  lungs.voxels[7] = 2;
  absl::StatusOr<HuIntervalQuantification> q = QuantifyHuIntervals(hu, lungs);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->right.low_attenuation_voxels, 2);  // -1000, -960
  EXPECT_EQ(q->right.well_aerated_voxels, 2);     // -950, -800
  EXPECT_EQ(q->right.ggo_voxels, 2);              // -780, -571
  EXPECT_EQ(q->right.semi_consolidation_voxels, 1);
  EXPECT_EQ(q->left.consolidation_voxels, 1);  // -290
  EXPECT_DOUBLE_EQ(q->both.well_aerated_percent, 25.0);
  HuIntervalBounds merged;
  merged.low_attenuation_is_well_aerated = true;
  q = QuantifyHuIntervals(hu, lungs, merged);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->right.well_aerated_voxels, 4);
  EXPECT_EQ(q->right.low_attenuation_voxels, 0);
  HuIntervalBounds bad;
  bad.semi_low = -800;
  EXPECT_FALSE(QuantifyHuIntervals(hu, lungs, bad).ok());
}

TEST(HuIntervals, PhantomLesionsFallInTheirIntervals) {
  // GGO (-700 +/- 30, noise 15) and crazy paving (-530 / -380) are built in AI-SCoRE's intervals;
  // healthy parenchyma (-880..-820) is well aerated. Vessels (40 HU) count as consolidation.
  testing::PhantomVolumes p = MakePhantom(SmallSpec(12, 0.3, 0.5, 0.5, 0.0));
  absl::StatusOr<HuIntervalQuantification> q = QuantifyHuIntervals(p.hu, p.lungs);
  ASSERT_TRUE(q.ok());
  const sites::LungTruth& t = p.phantom.truth.right;
  const double n = static_cast<double>(t.lung_voxels);
  std::printf("right: aerated %.2f%% GGO %.2f%% (truth %.2f%%) semi %.2f%% (truth %.2f%%)\n",
              q->right.well_aerated_percent, q->right.ggo_percent, 100 * t.ggo_voxels / n,
              q->right.semi_consolidation_percent, 100 * t.crazy_paving_voxels / n);
  EXPECT_NEAR(q->right.ggo_percent, 100 * t.ggo_voxels / n, 1.0);
  EXPECT_NEAR(q->right.semi_consolidation_percent, 100 * t.crazy_paving_voxels / n, 1.0);
  EXPECT_NEAR(q->right.well_aerated_percent, 100 * t.healthy_voxels / n, 4.0);
}

TEST(Calcium, MatchesThePhantomTruth) {
  sites::PhantomSpec spec = SmallSpec(13, 0.2, 0.6, 0.2, 0.2);
  spec.scanner.pixel_spacing_mm = 1.5;
  spec.scanner.rows = spec.scanner.columns = 256;
  spec.scanner.slice_thickness_mm = 2.5;
  spec.scanner.number_of_slices = 80;
  spec.calcium = {300.0, 80.0, 400.0};
  spec.devices.central_catheter = true;
  spec.devices.endotracheal_tube = true;
  testing::PhantomVolumes p = MakePhantom(spec);
  absl::StatusOr<LungMaskResult> lungs = ComputeLungMask(p.hu);
  ASSERT_TRUE(lungs.ok()) << lungs.status();
  absl::StatusOr<CalciumResult> c = MeasureCardiovascularCalcium(p.hu, lungs->labels);
  ASSERT_TRUE(c.ok()) << c.status();
  const double truth = p.phantom.truth.calcium.total_voxels() * p.hu.VoxelVolumeMm3();
  std::printf(
      "calcium %.1f mm^3 vs truth %.1f mm^3 (%d components; rejected %d outside ROI, "
      "%d small, %d devices)\n",
      c->volume_mm3, truth, c->components, c->rejected_outside_roi, c->rejected_small,
      c->rejected_device);
  // Tolerance: calcium against the vertebrae is lost with the bone (a few plaques of the
  // descending aorta); 10% of the total.
  EXPECT_NEAR(c->volume_mm3, truth, 0.10 * truth);
  // Without calcium: nothing (noise, the catheter and the tube are rejected).
  spec.calcium = {};
  p = MakePhantom(spec);
  c = MeasureCardiovascularCalcium(p.hu, lungs->labels);
  ASSERT_TRUE(c.ok());
  EXPECT_LT(c->volume_mm3, 0.02 * truth);
  EXPECT_FALSE(
      MeasureCardiovascularCalcium(p.hu, LabelVolume(p.hu.nx, p.hu.ny, p.hu.nz, p.hu.spacing))
          .ok());
}

}  // namespace
}  // namespace scancov::ct
