// Tests of the LibTorch-free data pipeline: seg_batches.h and batch_prefetcher.h.
#include "models/nn/seg_batches.h"

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/batch_prefetcher.h"

namespace scancov::nn {
namespace {

SegNetConfig Config(const std::string& model, const std::string& json = "") {
  absl::StatusOr<SegNetConfig> config = ParseSegNetConfig(model, json);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

// A volume whose HU encode the voxel position: 10 * slice + row (columns alike).
HuVolume Ramp(int nx, int ny, int nz) {
  HuVolume ct(nx, ny, nz, {1.0, 1.0, 2.0});
  for (int k = 0; k < nz; ++k) {
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) ct.at(k, j, i) = static_cast<int16_t>(-1000 + 10 * k + j);
    }
  }
  return ct;
}

TEST(SegBatchesTest, Normalisations) {
  EXPECT_FLOAT_EQ(NormalizeHu(-1024, HuNormalization::kSeed), 0.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(-3000, HuNormalization::kSeed), 0.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(0, HuNormalization::kSeed), 1.024f);
  EXPECT_FLOAT_EQ(NormalizeHu(976, HuNormalization::kSeed), 2.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(-1300, HuNormalization::kLungWindow), 0.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(-2000, HuNormalization::kLungWindow), 0.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(-550, HuNormalization::kLungWindow), 0.5f);
  EXPECT_FLOAT_EQ(NormalizeHu(200, HuNormalization::kLungWindow), 1.0f);
  EXPECT_FLOAT_EQ(NormalizeHu(1500, HuNormalization::kLungWindow), 1.0f);
}

TEST(SegBatchesTest, TilesCoverTheAxis) {
  EXPECT_EQ(TileStarts(10, 16, 0.25), std::vector<int>({0}));
  EXPECT_EQ(TileStarts(16, 16, 0.25), std::vector<int>({0}));
  EXPECT_EQ(TileStarts(40, 16, 0.0), std::vector<int>({0, 16, 24}));
  EXPECT_EQ(TileStarts(40, 16, 0.5), std::vector<int>({0, 8, 16, 24}));
  for (int n : {17, 33, 100, 129}) {
    std::vector<int> covered(n, 0);
    for (int start : TileStarts(n, 16, 0.25)) {
      for (int i = start; i < start + 16; ++i) covered.at(i) += 1;
    }
    for (int i = 0; i < n; ++i) EXPECT_GE(covered[i], 1) << "n " << n << " voxel " << i;
  }
}

TEST(SegBatchesTest, AdjacentSlicesAsChannelsRepeatAtTheEnds) {
  const HuVolume ct = Ramp(4, 3, 5);
  LabelVolume labels(4, 3, 5, ct.spacing, kUnlabelled);
  labels.at(0, 1, 1) = 1;  // slices 0 and 4 are labelled, the others not
  labels.at(4, 2, 3) = 4;
  const SegNetConfig config = Config("unet25d");
  const SegBatchBuilder builder(config, {&ct}, {&labels});
  const std::vector<SegSample> samples = builder.LabelledSamples();
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].z, 0);
  EXPECT_EQ(samples[1].z, 4);

  const SegBatch batch = builder.Build(samples, {});
  EXPECT_EQ(batch.input_shape, (std::vector<int64_t>{2, 3, 3, 4}));
  EXPECT_EQ(batch.target_shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(batch.labelled, 2);
  // Sample 0 (slice 0): channels are slices 0, 0, 1; sample 1 (slice 4): 3, 4, 4. Row 2.
  const int expected_slices[2][3] = {{0, 0, 1}, {3, 4, 4}};
  for (int b = 0; b < 2; ++b) {
    for (int c = 0; c < 3; ++c) {
      const float value = batch.input[((b * 3 + c) * 3 + 2) * 4 + 1];
      EXPECT_FLOAT_EQ(value,
                      NormalizeHu(-1000 + 10 * expected_slices[b][c] + 2, HuNormalization::kSeed))
          << "sample " << b << " channel " << c;
    }
  }
  EXPECT_EQ(batch.target[1 * 4 + 1], 1);
  EXPECT_EQ(batch.target[12 + 2 * 4 + 3], 4);
  EXPECT_EQ(batch.target[0], kUnlabelled);
}

TEST(SegBatchesTest, PatchesArePaddedWithAirAndUnlabelled) {
  const HuVolume ct = Ramp(5, 6, 3);
  LabelVolume labels(5, 6, 3, ct.spacing, 2);
  const SegNetConfig config = Config("unet3d", R"({"patch": [4, 8, 8]})");
  const SegBatchBuilder builder(config, {&ct}, {&labels});
  const std::vector<SegSample> samples = builder.LabelledSamples();
  ASSERT_EQ(samples.size(), 1u);
  const SegBatch batch = builder.Build(samples, {});
  EXPECT_EQ(batch.input_shape, (std::vector<int64_t>{1, 1, 4, 8, 8}));
  EXPECT_EQ(batch.target_shape, (std::vector<int64_t>{1, 4, 8, 8}));
  EXPECT_EQ(batch.labelled, 5 * 6 * 3);
  EXPECT_FLOAT_EQ(batch.input[(2 * 8 + 5) * 8 + 4],
                  NormalizeHu(-1000 + 20 + 5, HuNormalization::kSeed));
  EXPECT_FLOAT_EQ(batch.input[(3 * 8 + 0) * 8 + 0], 0.0f);    // slice 3 is padding (air)
  EXPECT_FLOAT_EQ(batch.input[(0 * 8 + 6) * 8 + 0], 0.0f);    // row 6 is padding
  EXPECT_EQ(batch.target[(0 * 8 + 0) * 8 + 5], kUnlabelled);  // column 5 is padding
  EXPECT_EQ(batch.target[(2 * 8 + 5) * 8 + 4], 2);
}

TEST(SegBatchesTest, CoveringPatchesHoldLabels) {
  const HuVolume ct = Ramp(20, 20, 10);
  LabelVolume labels(20, 20, 10, ct.spacing, kUnlabelled);
  labels.at(9, 19, 19) = 1;  // only the last corner tile is labelled
  const SegNetConfig config = Config("unet3d", R"({"patch": [4, 8, 8], "tile_overlap": 0.5})");
  const SegBatchBuilder builder(config, {&ct}, {&labels});
  const std::vector<SegSample> samples = builder.LabelledSamples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].z, 6);
  EXPECT_EQ(samples[0].y, 12);
  EXPECT_EQ(samples[0].x, 12);
  // Prediction tiles overlap by half a patch: (0, 2, 4, 6) x (0, 4, 8, 12)^2.
  EXPECT_EQ(builder.PredictionSamples(0).size(), 4u * 4u * 4u);
  EXPECT_EQ(builder.SlicesPerSample(), 4);
}

TEST(SegBatchesTest, FlipMirrorsAndSwapsLateralLabels) {
  const HuVolume ct = Ramp(6, 4, 1);
  LabelVolume labels(6, 4, 1, ct.spacing, 0);
  labels.at(0, 1, 0) = 1;  // "right lung" at the image's left
  labels.at(0, 2, 5) = 2;
  SegAugment flip;
  flip.flip = true;
  for (const char* model : {"unet2d", "unet25d"}) {
    const SegBatchBuilder builder(Config(model), {&ct}, {&labels});
    const SegBatch plain = builder.Build({{0, 0, 0, 0}}, {});
    const SegBatch flipped = builder.Build({{0, 0, 0, 0}}, {flip});
    const int channels = static_cast<int>(plain.input_shape[1]);
    for (int c = 0; c < channels; ++c) {
      for (int j = 0; j < 4; ++j) {
        for (int i = 0; i < 6; ++i) {
          EXPECT_NEAR(flipped.input[(c * 4 + j) * 6 + i], plain.input[(c * 4 + j) * 6 + 5 - i],
                      1e-6);
        }
      }
    }
    const bool lateral = std::string(model) == "unet2d";
    EXPECT_EQ(flipped.target[1 * 6 + 5], lateral ? 2 : 1) << model;
    EXPECT_EQ(flipped.target[2 * 6 + 0], lateral ? 1 : 2) << model;
  }
}

TEST(SegBatchesTest, AugmentationIsSeededAndBounded) {
  const std::array<int64_t, 3> patch{8, 32, 32};
  std::set<bool> flips;
  for (int64_t position = 0; position < 200; ++position) {
    const SegAugment a = DrawAugment(5, 2, position, /*is_3d=*/true, patch);
    const SegAugment b = DrawAugment(5, 2, position, /*is_3d=*/true, patch);
    EXPECT_EQ(a.angle_rad, b.angle_rad);
    EXPECT_EQ(a.shift[1], b.shift[1]);
    EXPECT_LE(std::abs(a.angle_rad), 10.0 * 3.1416 / 180.0);
    EXPECT_GE(a.scale, 0.9);
    EXPECT_LE(a.scale, 1.1);
    EXPECT_GE(a.contrast, 0.9);
    EXPECT_LE(std::abs(a.brightness), 0.05);
    EXPECT_LE(std::abs(a.shift[0]), 2);
    EXPECT_LE(std::abs(a.shift[2]), 8);
    flips.insert(a.flip);
  }
  EXPECT_EQ(flips.size(), 2u);
  EXPECT_NE(DrawAugment(5, 2, 0, true, patch).angle_rad,
            DrawAugment(5, 3, 0, true, patch).angle_rad);
  EXPECT_NE(MixSeed(1, 2, 3), MixSeed(1, 3, 2));
}

TEST(SegBatchesTest, GeometricOnlyAugmentationKeepsIntensities) {
  const std::array<int64_t, 3> patch{8, 32, 32};
  int jittered = 0;
  for (int64_t position = 0; position < 50; ++position) {
    const SegAugment full = DrawAugment(7, 1, position, /*is_3d=*/true, patch);
    const SegAugment geo = DrawAugment(7, 1, position, /*is_3d=*/true, patch, /*intensity=*/false);
    EXPECT_EQ(geo.contrast, 1.0);
    EXPECT_EQ(geo.brightness, 0.0);
    // The same geometry as the full augmentation of that sample.
    EXPECT_EQ(geo.flip, full.flip);
    EXPECT_EQ(geo.angle_rad, full.angle_rad);
    EXPECT_EQ(geo.scale, full.scale);
    for (int axis = 0; axis < 3; ++axis) EXPECT_EQ(geo.shift[axis], full.shift[axis]);
    if (full.contrast != 1.0 || full.brightness != 0.0) ++jittered;
  }
  EXPECT_EQ(jittered, 50);
}

TEST(SegBatchesTest, RotationKeepsTheCentreAndMarksOutsideUnlabelled) {
  HuVolume ct(9, 9, 1, {1.0, 1.0, 1.0}, -1000);
  ct.at(0, 4, 4) = 0;
  LabelVolume labels(9, 9, 1, ct.spacing, 1);
  SegAugment rotate;
  rotate.angle_rad = 0.15;
  rotate.scale = 0.85;  // zooming out brings voxels from outside the slice into the corners
  const SegBatchBuilder builder(Config("unet25d"), {&ct}, {&labels});
  const SegBatch batch = builder.Build({{0, 0, 0, 0}}, {rotate});
  EXPECT_NEAR(batch.input[1 * 81 + 4 * 9 + 4], NormalizeHu(0, HuNormalization::kSeed), 1e-5);
  EXPECT_EQ(batch.target[0], kUnlabelled);
  EXPECT_EQ(batch.target[4 * 9 + 4], 1);
  EXPECT_LT(batch.labelled, 81);
}

TEST(SegBatchesTest, ValidatesExamples) {
  const SegNetConfig lungs = Config("unet2d");
  std::vector<SegmentationExample> examples(1);
  examples[0].ct = Ramp(4, 4, 2);
  examples[0].labels = LabelVolume(4, 4, 2, examples[0].ct.spacing, 0);
  EXPECT_TRUE(ValidateSegExamples(lungs, examples).ok());
  examples[0].labels.at(1, 2, 3) = 3;  // lungs have classes 0..2
  absl::Status bad_label = ValidateSegExamples(lungs, examples);
  EXPECT_EQ(bad_label.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_label.message().find("label 3"), std::string::npos) << bad_label;
  examples[0].labels.at(1, 2, 3) = kUnlabelled;
  EXPECT_TRUE(ValidateSegExamples(lungs, examples).ok());

  examples.push_back(examples[0]);
  examples[1].labels.spacing = {1.0, 1.0, 5.0};
  EXPECT_NE(ValidateSegExamples(lungs, examples).message().find("example 1"), std::string::npos);
  examples[1].ct = Ramp(5, 4, 2);
  examples[1].labels = LabelVolume(5, 4, 2, examples[1].ct.spacing, 0);
  EXPECT_NE(ValidateSegExamples(lungs, examples).message().find("resample"), std::string::npos);
  EXPECT_TRUE(ValidateSegExamples(Config("unet3d"), examples).ok());  // patches: any size
}

TEST(BatchPrefetcherTest, ItemsArriveInOrderWhateverTheWorkers) {
  for (int workers : {0, 1, 3}) {
    std::atomic<int> built{0};
    BatchPrefetcher prefetcher(25, workers, 2, [&built](int64_t index) {
      ++built;
      SegBatch batch;
      batch.labelled = index * index;
      return batch;
    });
    for (int64_t i = 0; i < 25; ++i) EXPECT_EQ(prefetcher.Next().labelled, i * i);
    EXPECT_EQ(built.load(), 25);
  }
  // Destroyed before every item is taken: the workers stop.
  BatchPrefetcher abandoned(1000, 2, 3, [](int64_t) { return SegBatch(); });
  abandoned.Next();
}

}  // namespace
}  // namespace scancov::nn
