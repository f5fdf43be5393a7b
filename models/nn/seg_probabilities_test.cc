// Tests of seg_probabilities.h (LibTorch-free).
#include "models/nn/seg_probabilities.h"

#include <vector>

#include "gtest/gtest.h"

namespace scancov::nn {
namespace {

// 3 classes on a 2x1x1 grid: voxel 0 and voxel 1, values given per class.
SegProbabilities TwoVoxels(std::vector<float> class0, std::vector<float> class1,
                           std::vector<float> class2) {
  SegProbabilities p;
  p.num_classes = 3;
  p.nx = 2;
  p.ny = 1;
  p.nz = 1;
  for (const auto* values : {&class0, &class1, &class2}) {
    p.values.insert(p.values.end(), values->begin(), values->end());
  }
  return p;
}

TEST(SegProbabilitiesTest, EnsembleAverageIsTheVoxelwiseMean) {
  const SegProbabilities a = TwoVoxels({0.2f, 0.6f}, {0.8f, 0.1f}, {0.0f, 0.3f});
  const SegProbabilities b = TwoVoxels({0.4f, 0.2f}, {0.2f, 0.1f}, {0.4f, 0.7f});
  absl::StatusOr<SegProbabilities> mean = EnsembleAverage({a, b});
  ASSERT_TRUE(mean.ok()) << mean.status();
  const std::vector<float> expected = {0.3f, 0.4f, 0.5f, 0.1f, 0.2f, 0.5f};
  ASSERT_EQ(mean->values.size(), expected.size());
  for (size_t v = 0; v < expected.size(); ++v) EXPECT_NEAR(mean->values[v], expected[v], 1e-6);
  EXPECT_FLOAT_EQ(mean->at(2, 0, 0, 1), 0.5f);
  absl::StatusOr<SegProbabilities> single = EnsembleAverage({a});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->values, a.values);
}

TEST(SegProbabilitiesTest, EnsembleAverageRefusesMismatches) {
  const SegProbabilities a = TwoVoxels({0.2f, 0.6f}, {0.8f, 0.1f}, {0.0f, 0.3f});
  EXPECT_EQ(EnsembleAverage({}).status().code(), absl::StatusCode::kInvalidArgument);
  SegProbabilities other_grid = a;
  other_grid.spacing = {2.0, 1.0, 1.0};
  EXPECT_EQ(EnsembleAverage({a, other_grid}).status().code(), absl::StatusCode::kInvalidArgument);
  SegProbabilities short_values = a;
  short_values.values.pop_back();
  EXPECT_EQ(EnsembleAverage({a, short_values}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SegProbabilitiesTest, ArgmaxWithoutMask) {
  // Voxel 0: class 1 wins; voxel 1: classes 0 and 2 tie, the lower one wins.
  const SegProbabilities p = TwoVoxels({0.2f, 0.45f}, {0.7f, 0.1f}, {0.1f, 0.45f});
  absl::StatusOr<LabelVolume> labels = ArgmaxLabels(p);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->voxels, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(labels->nx, 2);
}

TEST(SegProbabilitiesTest, ArgmaxWithLungMask) {
  // Voxel 0 is outside the mask (background even though class 2 wins); voxel 1 is inside, where
  // the background class 0 is the most probable but a tissue class must be chosen.
  const SegProbabilities p = TwoVoxels({0.1f, 0.6f}, {0.2f, 0.1f}, {0.7f, 0.3f});
  LabelVolume mask(2, 1, 1, {1.0, 1.0, 1.0}, 0);
  mask.voxels = {0, 2};
  absl::StatusOr<LabelVolume> labels = ArgmaxLabels(p, &mask);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->voxels, (std::vector<uint8_t>{0, 2}));

  LabelVolume wrong(1, 2, 1, {1.0, 1.0, 1.0}, 1);
  EXPECT_EQ(ArgmaxLabels(p, &wrong).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::nn
