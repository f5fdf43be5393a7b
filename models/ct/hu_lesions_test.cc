// The model-free lesion map: the AI-SCoRE intervals as lesion classes, noise and thin rims
// removed.
#include "models/ct/hu_lesions.h"

#include <gtest/gtest.h>

#include <random>

#include "models/ct/lesion_quantification.h"

namespace scancov::ct {
namespace {

// A 64 x 64 x 8 grid of 0.75 mm pixels (a fine grid, where the 2 mm opening acts), all lung of
// HU `background`.
struct Scene {
  HuVolume hu{64, 64, 8, {0.75, 0.75, 1.0}, -850};
  LabelVolume lungs{64, 64, 8, {0.75, 0.75, 1.0}, 1};
  void Block(int i0, int i1, int j0, int j1, int16_t value) {
    for (int k = 0; k < hu.nz; ++k) {
      for (int j = j0; j < j1; ++j) {
        for (int i = i0; i < i1; ++i) hu.at(k, j, i) = value;
      }
    }
  }
};

TEST(HuLesions, IntervalsBecomeLesionClasses) {
  Scene s;
  s.Block(4, 20, 4, 20, -700);   // GGO
  s.Block(24, 40, 4, 20, -450);  // semi-consolidation -> crazy paving
  s.Block(44, 60, 4, 20, 20);    // consolidation
  absl::StatusOr<LabelVolume> labels = ClassifyLesionsByHu(s.hu, s.lungs);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->at(4, 12, 12), kLesionGgo);
  EXPECT_EQ(labels->at(4, 12, 32), kLesionCrazyPaving);
  EXPECT_EQ(labels->at(4, 12, 52), kLesionConsolidation);
  EXPECT_EQ(labels->at(4, 40, 32), kLesionHealthy);
  // The blocks keep their size: 16 x 16 pixels per slice each (the opening restores borders).
  int64_t ggo = 0;
  for (uint8_t v : labels->voxels) ggo += v == kLesionGgo;
  EXPECT_NEAR(static_cast<double>(ggo), 16.0 * 16 * 8, 0.1 * 16 * 16 * 8);
}

TEST(HuLesions, OutsideTheLungsIsBackground) {
  Scene s;
  s.Block(0, 64, 0, 64, 40);
  for (int k = 0; k < s.lungs.nz; ++k) {
    for (int j = 0; j < 64; ++j) {
      for (int i = 32; i < 64; ++i) s.lungs.at(k, j, i) = 0;
    }
  }
  absl::StatusOr<LabelVolume> labels = ClassifyLesionsByHu(s.hu, s.lungs);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->at(3, 10, 10), kLesionConsolidation);
  EXPECT_EQ(labels->at(3, 10, 50), kLesionBackground);
}

TEST(HuLesions, NoiseAndThinVesselsAreNotLesions) {
  Scene s;
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 20.0);
  for (int16_t& v : s.hu.voxels) v = static_cast<int16_t>(-820 + noise(rng));  // 2 sigma: -780
  for (int k = 0; k < s.hu.nz; ++k) {
    for (int j = 0; j < 64; ++j) s.hu.at(k, j, 30) = s.hu.at(k, j, 31) = 40;  // a 1.5 mm vessel
    for (int j = 20; j < 28; ++j) {
      for (int i = 10; i < 16; ++i) s.hu.at(k, j, i) = 40;  // a 4.5 mm vessel in cross-section
    }
  }
  absl::StatusOr<LabelVolume> labels = ClassifyLesionsByHu(s.hu, s.lungs);
  ASSERT_TRUE(labels.ok());
  int64_t lesion = 0;
  for (uint8_t v : labels->voxels) lesion += v >= kLesionGgo;
  EXPECT_EQ(lesion, 0);
  // Without smoothing and cleaning, the same scene is full of "lesions".
  HuLesionOptions raw;
  raw.smooth = false;
  raw.opening_radius_mm = 0;
  raw.consolidation_opening_radius_mm = 0;
  raw.min_component_ml = 0;
  labels = ClassifyLesionsByHu(s.hu, s.lungs, raw);
  ASSERT_TRUE(labels.ok());
  lesion = 0;
  for (uint8_t v : labels->voxels) lesion += v >= kLesionGgo;
  EXPECT_GT(lesion, 64 * 8 * 2);
}

TEST(HuLesions, RefusesMismatchedGrids) {
  Scene s;
  LabelVolume other(32, 32, 8, {0.75, 0.75, 1.0}, 1);
  EXPECT_EQ(ClassifyLesionsByHu(s.hu, other).status().code(), absl::StatusCode::kInvalidArgument);
  HuLesionOptions bad;
  bad.bounds.semi_low = -800;
  EXPECT_EQ(ClassifyLesionsByHu(s.hu, s.lungs, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::ct
