// Tests of seg_config.h (LibTorch-free).
#include "models/nn/seg_config.h"

#include <string>

#include "gtest/gtest.h"

namespace scancov::nn {
namespace {

void ExpectInvalid(const absl::StatusOr<SegNetConfig>& config, const std::string& fragment) {
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  EXPECT_NE(config.status().message().find(fragment), std::string::npos) << config.status();
}

TEST(SegConfigTest, DefaultsPerModel) {
  absl::StatusOr<SegNetConfig> lungs = ParseSegNetConfig("unet2d", "");
  ASSERT_TRUE(lungs.ok()) << lungs.status();
  EXPECT_EQ(lungs->kind, SegNetKind::kUnet2d);
  EXPECT_EQ(lungs->in_channels(), 1);
  EXPECT_EQ(lungs->num_classes, 3);
  EXPECT_TRUE(lungs->lateral_labels);
  EXPECT_EQ(lungs->normalization, HuNormalization::kSeed);

  absl::StatusOr<SegNetConfig> lesions = ParseSegNetConfig("unet25d", "{}");
  ASSERT_TRUE(lesions.ok()) << lesions.status();
  EXPECT_EQ(lesions->in_channels(), 3);
  EXPECT_EQ(lesions->num_classes, 5);
  EXPECT_FALSE(lesions->lateral_labels);

  absl::StatusOr<SegNetConfig> patches = ParseSegNetConfig("unet3d", "");
  ASSERT_TRUE(patches.ok()) << patches.status();
  EXPECT_TRUE(patches->is_3d());
  EXPECT_TRUE(patches->residual);
  EXPECT_EQ(patches->patch, (std::array<int64_t, 3>{32, 128, 128}));
}

TEST(SegConfigTest, ReadsEveryKey) {
  absl::StatusOr<SegNetConfig> c = ParseSegNetConfig(
      "unet3d", R"({"num_classes": 4, "base_channels": 16, "depth": 4, "batch_norm": false,
                    "residual": false, "normalization": "lung_window", "patch": [16, 64, 48],
                    "tile_overlap": 0.5, "lateral_labels": false})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_classes, 4);
  EXPECT_EQ(c->base_channels, 16);
  EXPECT_EQ(c->depth, 4);
  EXPECT_FALSE(c->batch_norm);
  EXPECT_FALSE(c->residual);
  EXPECT_EQ(c->normalization, HuNormalization::kLungWindow);
  EXPECT_EQ(c->patch, (std::array<int64_t, 3>{16, 64, 48}));
  EXPECT_DOUBLE_EQ(c->tile_overlap, 0.5);

  absl::StatusOr<SegNetConfig> k2 = ParseSegNetConfig("unet25d", R"({"context_slices": 2})");
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_EQ(k2->in_channels(), 5);
}

TEST(SegConfigTest, JsonRoundTrip) {
  for (const char* model : {"unet2d", "unet25d", "unet3d"}) {
    absl::StatusOr<SegNetConfig> c =
        ParseSegNetConfig(model, R"({"base_channels": 4, "normalization": "lung_window"})");
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<SegNetConfig> back = ParseSegNetConfig(model, SegNetConfigToJson(*c));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(SegNetConfigToJson(*back), SegNetConfigToJson(*c));
    EXPECT_EQ(back->base_channels, 4);
  }
}

TEST(SegConfigTest, RefusesWhatDoesNotFit) {
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"context_slices": 1})"), "context_slices");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"patch": [8, 8, 8]})"), "patch");
  ExpectInvalid(ParseSegNetConfig("unet25d", R"({"context_slices": 0})"), "context_slices");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"depht": 3})"), "unknown key \"depht\"");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"depth": 7})"), "depth");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"base_channels": 2.5})"), "base_channels");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"depth": "4"})"),
                "segmentation net config: \"depth\" must be an integer in 1..6");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"residual": 1})"),
                "\"residual\" must be true or false");
  ExpectInvalid(ParseSegNetConfig("unet3d", R"({"tile_overlap": "half"})"),
                "\"tile_overlap\" must be a number");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"num_classes": 2})"), "lateral_labels");
  ExpectInvalid(ParseSegNetConfig("unet2d", R"({"normalization": "bone"})"), "normalization");
  ExpectInvalid(ParseSegNetConfig("unet3d", R"({"patch": [8, 8]})"), "patch");
  ExpectInvalid(ParseSegNetConfig("unet3d", R"({"patch": [0, 8, 8]})"), "patch");
  ExpectInvalid(ParseSegNetConfig("unet3d", R"({"tile_overlap": 0.95})"), "tile_overlap");
  ExpectInvalid(ParseSegNetConfig("unet2d", "[1, 2]"), "JSON object");
  ExpectInvalid(ParseSegNetConfig("unet2d", "{"), "not valid JSON");
  EXPECT_EQ(ParseSegNetConfig("logistic", "").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::nn
