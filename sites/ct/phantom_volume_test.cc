#include "sites/ct/phantom_volume.h"

#include <gtest/gtest.h>

#include <cmath>

namespace scancov::sites {
namespace {

PhantomSpec SickSpec(uint64_t seed = 7) {
  PhantomSpec spec;
  spec.seed = seed;
  spec.patient.patient_id = "KB-000123";
  spec.disease.extent_right = 0.30;
  spec.disease.extent_left = 0.15;
  spec.disease.ggo_fraction = 0.5;
  spec.disease.crazy_paving_fraction = 0.3;
  spec.disease.consolidation_fraction = 0.2;
  spec.calcium = {200.0, 90.0, 450.0};
  spec.devices = {true, true};
  spec.scanner = SmallScanner();
  spec.scanner.noise_sigma_hu = 0;  // nominal HU in most tests
  return spec;
}

PhantomVolume Generate(const PhantomSpec& spec) {
  auto v = GeneratePhantomVolume(spec);
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

TEST(PhantomVolume, DeterministicBySeed) {
  PhantomSpec spec = SickSpec();
  spec.scanner.noise_sigma_hu = 15;
  const PhantomVolume a = Generate(spec);
  const PhantomVolume b = Generate(spec);
  EXPECT_EQ(a.hu, b.hu);
  EXPECT_EQ(a.lesion_labels, b.lesion_labels);
  spec.seed = 8;
  const PhantomVolume c = Generate(spec);
  EXPECT_NE(a.hu, c.hu);
  EXPECT_NE(a.lesion_labels, c.lesion_labels);
}

TEST(PhantomVolume, GridMatchesScanner) {
  const PhantomVolume v = Generate(SickSpec());
  EXPECT_EQ(v.grid.nx, 128);
  EXPECT_EQ(v.grid.ny, 128);
  EXPECT_EQ(v.grid.nz, 40);
  EXPECT_DOUBLE_EQ(v.grid.dz, 5.0);
  EXPECT_EQ(v.hu.size(), v.grid.size());
  EXPECT_EQ(v.lung_labels.size(), v.grid.size());
  EXPECT_EQ(v.hu[0], PhantomHu::kAir);  // a corner of the field of view
}

TEST(PhantomVolume, LungsArePlausibleAndRightIsLarger) {
  const PhantomVolume v = Generate(SickSpec());
  const double ml = v.grid.VoxelVolumeMm3() / 1000.0;
  const double right = v.truth.right.lung_voxels * ml;
  const double left = v.truth.left.lung_voxels * ml;
  EXPECT_GT(right, 1000);
  EXPECT_LT(right, 3500);
  EXPECT_GT(left, 800);
  EXPECT_LT(right + left, 6500);
  EXPECT_GT(right, left);  // the heart takes room on the left
  // Right lung on the patient's right = low column index (LPS, x to the left).
  double right_x = 0, left_x = 0;
  for (size_t i = 0; i < v.grid.size(); ++i) {
    const double x = static_cast<double>(i % v.grid.nx);
    if (v.lung_labels[i] == kLungRight) right_x += x;
    if (v.lung_labels[i] == kLungLeft) left_x += x;
  }
  EXPECT_LT(right_x / v.truth.right.lung_voxels, v.grid.nx / 2.0);
  EXPECT_GT(left_x / v.truth.left.lung_voxels, v.grid.nx / 2.0);
}

TEST(PhantomVolume, ExtentAndTypeFractionsAreExact) {
  const PhantomVolume v = Generate(SickSpec());
  for (const LungTruth* t : {&v.truth.right, &v.truth.left}) {
    EXPECT_NEAR(t->extent(), t->requested_extent, 1.0 / t->lung_voxels);
    const double lesions = static_cast<double>(t->lesion_voxels());
    EXPECT_NEAR(t->consolidation_voxels / lesions, 0.2, 1e-3);
    EXPECT_NEAR(t->crazy_paving_voxels / lesions, 0.3, 1e-3);
    EXPECT_EQ(t->healthy_voxels + t->lesion_voxels(), t->lung_voxels);
  }
  // The label maps agree with the truth.
  int64_t counts[3][5] = {};
  for (size_t i = 0; i < v.grid.size(); ++i) {
    ASSERT_EQ(v.lung_labels[i] == kLungNone, v.lesion_labels[i] == kLesionNone) << i;
    ++counts[v.lung_labels[i]][v.lesion_labels[i]];
  }
  EXPECT_EQ(counts[kLungRight][kLesionGgo], v.truth.right.ggo_voxels);
  EXPECT_EQ(counts[kLungLeft][kLesionConsolidation], v.truth.left.consolidation_voxels);
  EXPECT_EQ(counts[kLungRight][kLesionHealthy], v.truth.right.healthy_voxels);
}

TEST(PhantomVolume, LesionsAreInTheirHuIntervals) {
  const PhantomVolume v = Generate(SickSpec());
  int64_t healthy = 0, healthy_aerated = 0;
  for (size_t i = 0; i < v.grid.size(); ++i) {
    const int hu = v.hu[i];
    switch (v.lesion_labels[i]) {
      case kLesionGgo:
        ASSERT_TRUE(hu >= -780 && hu < -570) << hu;
        break;
      case kLesionCrazyPaving:
        ASSERT_TRUE(hu >= -570 && hu < -290) << hu;
        break;
      case kLesionConsolidation:
        ASSERT_GE(hu, -290);
        ASSERT_LE(hu, 100);
        break;
      case kLesionHealthy:
        ++healthy;
        if (hu < -780) ++healthy_aerated;  // the rest are vessels (~40 HU)
        break;
    }
  }
  EXPECT_GT(static_cast<double>(healthy_aerated) / healthy, 0.85);
}

TEST(PhantomVolume, NoiseHasTheRequestedSigma) {
  PhantomSpec spec = SickSpec();
  spec.scanner.noise_sigma_hu = 25;
  const PhantomVolume noisy = Generate(spec);
  const PhantomVolume clean = Generate(SickSpec());
  double sum = 0, sum2 = 0;
  int64_t n = 0;
  for (size_t i = 0; i < clean.grid.size(); ++i) {
    if (clean.lung_labels[i] == kLungNone) continue;  // no clamping inside the lungs
    const double d = noisy.hu[i] - clean.hu[i];
    sum += d;
    sum2 += d * d;
    ++n;
  }
  EXPECT_NEAR(sum / n, 0.0, 1.0);
  EXPECT_NEAR(std::sqrt(sum2 / n), 25.0, 1.0);
}

TEST(PhantomVolume, CalciumAndDevicesStayOutsideTheLungs) {
  const PhantomVolume v = Generate(SickSpec());
  const double voxel = v.grid.VoxelVolumeMm3();
  EXPECT_NEAR(v.truth.calcium.coronary_voxels * voxel, 200.0, voxel);
  EXPECT_NEAR(v.truth.calcium.aortic_valve_voxels * voxel, 90.0, voxel);
  EXPECT_NEAR(v.truth.calcium.aorta_voxels * voxel, 450.0, voxel);
  EXPECT_GT(v.truth.device_voxels, 10);
  // Every voxel brighter than bone cortex is a device or calcium, never lung.
  int64_t dense = 0;
  for (size_t i = 0; i < v.grid.size(); ++i) {
    if (v.hu[i] >= 1000) {
      ++dense;
      EXPECT_EQ(v.lung_labels[i], kLungNone);
    }
  }
  EXPECT_GT(dense, 0);
}

// Mean of a per-voxel quantity over lesion voxels.
template <typename F>
double LesionMean(const PhantomVolume& v, F f) {
  double sum = 0;
  int64_t n = 0;
  for (size_t idx = 0; idx < v.grid.size(); ++idx) {
    if (v.lesion_labels[idx] < kLesionGgo) continue;
    const int i = static_cast<int>(idx % v.grid.nx);
    const int j = static_cast<int>((idx / v.grid.nx) % v.grid.ny);
    const int k = static_cast<int>(idx / (static_cast<size_t>(v.grid.nx) * v.grid.ny));
    sum += f(k, j, i);
    ++n;
  }
  return sum / n;
}

TEST(PhantomVolume, TopographyFlagsMoveTheLesions) {
  PhantomSpec spec = SickSpec();
  spec.disease.peripheral = true;
  spec.disease.inferior = true;
  const PhantomVolume pi = Generate(spec);
  spec.disease.peripheral = false;
  spec.disease.inferior = false;
  const PhantomVolume cs = Generate(spec);
  auto k_of = [](int k, int, int) { return static_cast<double>(k); };
  EXPECT_LT(LesionMean(pi, k_of), LesionMean(cs, k_of) - 2.0);
  const double cx = 63.5, cy = 63.5;
  auto radius = [&](int, int j, int i) { return std::hypot((i - cx) / 1.4, j - cy); };
  EXPECT_GT(LesionMean(pi, radius), LesionMean(cs, radius) + 2.0);
}

TEST(PhantomVolume, RejectsInvalidSpecs) {
  PhantomSpec spec = SickSpec();
  spec.disease.extent_left = 1.5;
  EXPECT_EQ(GeneratePhantomVolume(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = SickSpec();
  spec.scanner.pixel_spacing_mm = 1.0;  // 128 mm field of view
  const absl::Status s = GeneratePhantomVolume(spec).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("field of view"), absl::string_view::npos) << s;
  spec = SickSpec();
  spec.scanner.rescale_intercept = 0;
  spec.scanner.rescale_slope = 0.01;  // cannot store 2000 HU in int16
  EXPECT_FALSE(GeneratePhantomVolume(spec).ok());
}

TEST(PhantomVolume, HealthyLungsHaveNoLesions) {
  PhantomSpec spec = SickSpec();
  spec.disease.extent_left = spec.disease.extent_right = 0;
  const PhantomVolume v = Generate(spec);
  EXPECT_EQ(v.truth.right.lesion_voxels() + v.truth.left.lesion_voxels(), 0);
  EXPECT_GT(v.truth.right.healthy_voxels, 0);
}

}  // namespace
}  // namespace scancov::sites
