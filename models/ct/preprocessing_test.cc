#include "models/ct/preprocessing.h"

#include "gtest/gtest.h"
#include "models/ct/volume_box.h"

namespace scancov::ct {
namespace {

HuVolume Ramp(int nx, int ny, int nz, std::array<double, 3> spacing) {
  HuVolume v(nx, ny, nz, spacing);
  for (int k = 0; k < nz; ++k)
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i)
        v.at(k, j, i) = static_cast<int16_t>(10 * i + 100 * j + 1000 * k);
  return v;
}

TEST(Windows, SeedWindowsAreThePublishedOnes) {
  EXPECT_DOUBLE_EQ(LungWindow().low, -1300);
  EXPECT_DOUBLE_EQ(LungWindow().high, 200);
  EXPECT_DOUBLE_EQ(LungWindow().width(), 1500);
  EXPECT_DOUBLE_EQ(LungWindow().level(), -550);
  EXPECT_DOUBLE_EQ(SeverityWindow().low, -1000);
  EXPECT_DOUBLE_EQ(SeverityWindow().high, 600);
  const auto ch = SeverityChannelWindows();
  EXPECT_DOUBLE_EQ(ch[0].low, -1000);
  EXPECT_DOUBLE_EQ(ch[0].high, 0);
  EXPECT_DOUBLE_EQ(ch[1].low, 0);
  EXPECT_DOUBLE_EQ(ch[1].high, 1000);
  EXPECT_DOUBLE_EQ(ch[2].low, -1000);
  EXPECT_DOUBLE_EQ(ch[2].high, 4000);
}

TEST(Windows, MapsLinearlyAndClips) {
  const HuWindow w = LungWindow();
  EXPECT_FLOAT_EQ(WindowValue(-1300, w), 0.0f);
  EXPECT_FLOAT_EQ(WindowValue(-550, w), 0.5f);
  EXPECT_FLOAT_EQ(WindowValue(200, w), 1.0f);
  EXPECT_FLOAT_EQ(WindowValue(-3000, w), 0.0f);
  EXPECT_FLOAT_EQ(WindowValue(3000, w), 1.0f);
  EXPECT_EQ(WindowByte(-550, w), 128);
  HuVolume hu(2, 1, 1, {1, 1, 1});
  hu.voxels = {-1000, 500};
  absl::StatusOr<std::vector<FloatVolume>> ch = ApplyWindows(hu, {SeverityWindow(), {0, 1000}});
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_FLOAT_EQ((*ch)[0].voxels[0], 0.0f);
  EXPECT_FLOAT_EQ((*ch)[0].voxels[1], 1500.0f / 1600.0f);
  EXPECT_FLOAT_EQ((*ch)[1].voxels[1], 0.5f);
  EXPECT_FALSE(ApplyWindow(hu, HuWindow{10, 10}).ok());
  EXPECT_FALSE(ApplyWindow(HuVolume{}, LungWindow()).ok());
}

TEST(Normalisation, ReleasedAiSegmentInput) {
  HuVolume hu(4, 1, 1, {1, 1, 1});
  hu.voxels = {-2048, -1024, 0, 976};
  absl::StatusOr<FloatVolume> n = NormalizeAiSegment(hu, /*threads=*/2);
  ASSERT_TRUE(n.ok());
  EXPECT_FLOAT_EQ(n->voxels[0], 0.0f);  // clipped at 0
  EXPECT_FLOAT_EQ(n->voxels[1], 0.0f);
  EXPECT_FLOAT_EQ(n->voxels[2], 1.024f);
  EXPECT_FLOAT_EQ(n->voxels[3], 2.0f);  // not clipped above
}

TEST(Resampling, SizesKeepEveryCentreInside) {
  EXPECT_EQ(ResampledSize(512, 0.75, 0.7), 548);  // 511 * 0.75 / 0.7 = 547.5 -> 547 steps
  EXPECT_EQ(ResampledSize(40, 5.0, 10.0), 20);    // 39 * 0.5 = 19.5 -> 19 steps
  EXPECT_EQ(ResampledSize(3, 1.0, 0.5), 5);
  EXPECT_EQ(ResampledSize(1, 1.0, 0.5), 1);
}

TEST(Resampling, TrilinearIsExactOnALinearRamp) {
  const HuVolume hu = Ramp(5, 4, 3, {1.0, 2.0, 3.0});
  absl::StatusOr<HuVolume> r = ResampleHu(hu, {0.5, 1.0, 1.5}, /*threads=*/3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->nx, 9);
  EXPECT_EQ(r->ny, 7);
  EXPECT_EQ(r->nz, 5);
  // Output voxel (k, j, i) sits at input coordinates (i / 2, j / 2, k / 2).
  for (int k = 0; k < r->nz; ++k)
    for (int j = 0; j < r->ny; ++j)
      for (int i = 0; i < r->nx; ++i)
        ASSERT_EQ(r->at(k, j, i), 5 * i + 50 * j + 500 * k) << k << "," << j << "," << i;
  EXPECT_FALSE(ResampleHu(hu, {0.0, 1.0, 1.0}).ok());
}

TEST(Resampling, LabelsUseTheNearestVoxel) {
  LabelVolume l(4, 1, 1, {1, 1, 1});
  l.voxels = {0, 1, 2, 3};
  absl::StatusOr<LabelVolume> down = ResampleLabels(l, {2.0, 1.0, 1.0});
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->voxels, (std::vector<uint8_t>{0, 2}));
  absl::StatusOr<LabelVolume> up = ResampleLabels(l, {0.4, 1.0, 1.0});
  ASSERT_TRUE(up.ok());
  // Positions 0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8 -> nearest 0 0 1 1 2 2 2 3.
  EXPECT_EQ(up->voxels, (std::vector<uint8_t>{0, 0, 1, 1, 2, 2, 2, 3}));
}

// Derived grids stay in the patient's coordinates: a voxel's value sits at the same LPS point.
HuVolume Placed(HuVolume v) {
  v.origin = {-100, 50, 7};
  v.direction = {0, 1, 0, -1, 0, 0, 0, 0, 1};  // rows along +y, columns along -x
  return v;
}

void ExpectSamePoint(const HuVolume& in, int k, int j, int i, const HuVolume& out, int ko, int jo,
                     int io) {
  const std::array<double, 3> a = in.PointAt(k, j, i), b = out.PointAt(ko, jo, io);
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(a[d], b[d], 1e-9) << d;
  EXPECT_EQ(in.at(k, j, i), out.at(ko, jo, io));
}

TEST(Placement, ResamplingCroppingAndFittingKeepPatientCoordinates) {
  const HuVolume hu = Placed(Ramp(16, 8, 3, {1.0, 1.0, 2.0}));
  absl::StatusOr<HuVolume> half = ResampleHu(hu, {0.5, 0.5, 2.0});
  ASSERT_TRUE(half.ok());
  ExpectSamePoint(hu, 2, 3, 5, *half, 2, 6, 10);
  const Box box{4, 9, 2, 6, 1, 3};
  ExpectSamePoint(hu, 2, 5, 8, Crop(hu, box), 1, 3, 4);
  // Field of view 16 mm over 16 px: no resampling, then 4 rows of padding above and below.
  absl::StatusOr<HuVolume> fitted = FitInPlaneHu(hu, 16);
  ASSERT_TRUE(fitted.ok());
  ExpectSamePoint(hu, 1, 0, 0, *fitted, 1, 4, 0);
  ExpectSamePoint(hu, 2, 7, 15, *fitted, 2, 11, 15);
  EXPECT_EQ(fitted->at(0, 0, 0), -1024);
}

TEST(Masking, OutsideTheLungsBecomesAir) {
  HuVolume hu(3, 1, 1, {1, 1, 1});
  hu.voxels = {100, -800, 1500};
  LabelVolume m(3, 1, 1, {1, 1, 1});
  m.voxels = {0, 1, 0};
  absl::StatusOr<HuVolume> out = MaskOutside(hu, m);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->voxels, (std::vector<int16_t>{-1024, -800, -1024}));
  EXPECT_FALSE(MaskOutside(hu, LabelVolume(2, 1, 1, {1, 1, 1})).ok());
}

}  // namespace
}  // namespace scancov::ct
