// NativeLabels: labels predicted on the fitted in-plane grid come back onto the series grid.
#include <gtest/gtest.h>

#include "models/ct/preprocessing.h"
#include "node/bedside/learned_segmentation.h"

namespace scancov::node {
namespace {

// A 200 x 150 grid of 0.8 mm pixels (not square, not a power of two) with two label blocks.
LabelVolume Blocks() {
  LabelVolume labels(200, 150, 3, {0.8, 0.8, 5.0}, 0);
  for (int k = 0; k < 3; ++k) {
    for (int j = 30; j < 120; ++j) {
      for (int i = 20; i < 90; ++i) labels.at(k, j, i) = 1;
      for (int i = 110; i < 180; ++i) labels.at(k, j, i) = 2;
    }
  }
  return labels;
}

TEST(NativeLabels, RoundTripThroughTheFittedGrid) {
  const LabelVolume labels = Blocks();
  for (int size : {64, 128, 256}) {
    absl::StatusOr<LabelVolume> fitted = ct::FitInPlaneLabels(labels, size, 1);
    ASSERT_TRUE(fitted.ok());
    const LabelVolume back = NativeLabels(*fitted, labels.nx, labels.ny, labels.spacing);
    ASSERT_TRUE(back.SameGrid(labels));
    int64_t agree = 0;
    for (size_t v = 0; v < labels.voxels.size(); ++v) agree += back.voxels[v] == labels.voxels[v];
    // Only voxels within one fitted pixel of a block edge can differ.
    EXPECT_GT(static_cast<double>(agree) / labels.voxels.size(), 0.95) << size;
  }
}

TEST(NativeLabels, IdentityWhenTheGridAlreadyFits) {
  LabelVolume labels(64, 64, 2, {1.0, 1.0, 2.0}, 0);
  for (size_t v = 0; v < labels.voxels.size(); ++v) labels.voxels[v] = v % 3;
  const LabelVolume back = NativeLabels(labels, 64, 64, labels.spacing);
  EXPECT_EQ(back.voxels, labels.voxels);
}

}  // namespace
}  // namespace scancov::node
