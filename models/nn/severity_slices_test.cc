// Tests of the AI-severity config and preprocessing (severity_config.h, severity_slices.h) on
// tiny phantoms. LibTorch-free.
#include "models/nn/severity_slices.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/nn/severity_config.h"
#include "models/nn/severity_test_scans.h"

namespace scancov::nn {
namespace {

SliceEncoderConfig Config(const std::string& json) {
  absl::StatusOr<SliceEncoderConfig> config = ParseSliceEncoderConfig(json);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : SliceEncoderConfig();
}

SeveritySlices Prepare(const SeverityScan& scan, const SliceEncoderConfig& config) {
  absl::StatusOr<SeveritySlices> slices = PrepareSeveritySlices(scan, config);
  EXPECT_TRUE(slices.ok()) << slices.status();
  return slices.ok() ? *std::move(slices) : SeveritySlices();
}

const SeverityScan& Severe() {
  static const auto* scan = new SeverityScan(MakeSeverityPhantom(101, 1));
  return *scan;
}

TEST(SliceEncoderConfigTest, DefaultsAndRoundTrip) {
  const SliceEncoderConfig defaults = Config("");
  EXPECT_EQ(defaults.window, SeverityWindow::kSingle);
  EXPECT_EQ(defaults.in_channels(), 1);
  EXPECT_EQ(defaults.embedding_dim, 64);
  EXPECT_EQ(defaults.slice_spacing_mm, 10.0);
  EXPECT_EQ(defaults.scan_embedding_dim(), 64);

  const SliceEncoderConfig three = Config(
      R"({"window": "three", "base_channels": 4, "depth": 2, "embedding_dim": 12,
          "batch_norm": false, "slice_size": 48, "slice_spacing_mm": 0,
          "min_lung_fraction": 0.25, "pooling": "mean_max"})");
  EXPECT_EQ(three.in_channels(), 3);
  EXPECT_EQ(three.scan_embedding_dim(), 24);
  const SliceEncoderConfig back = Config(SliceEncoderConfigToJson(three));
  EXPECT_EQ(SliceEncoderConfigToJson(back), SliceEncoderConfigToJson(three));
  EXPECT_EQ(back.window, SeverityWindow::kThree);
  EXPECT_EQ(back.pooling, SeverityPooling::kMeanMax);
  EXPECT_EQ(back.slice_size, 48);
  EXPECT_FALSE(back.batch_norm);
  EXPECT_EQ(back.min_lung_fraction, 0.25);
}

TEST(SliceEncoderConfigTest, RefusesBadConfigs) {
  for (const char* bad :
       {"[1]", "{", R"({"window": "lung"})", R"({"depth": 0})", R"({"depth": 7})",
        R"({"base_channels": 1.5})", R"({"slice_size": 4})", R"({"slice_size": 8, "depth": 4})",
        R"({"min_lung_fraction": 1.5})", R"({"slice_spacing_mm": -1})", R"({"pooling": "max"})",
        R"({"embedding_dim": 0})", R"({"context_slices": 1})"}) {
    const absl::Status status = ParseSliceEncoderConfig(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("slice encoder config"), absl::string_view::npos) << status;
  }
}

TEST(SeveritySlicesTest, WindowSettingsGiveOneOrThreeChannels) {
  const SeveritySlices single = Prepare(Severe(), Config(R"({"slice_size": 32})"));
  const SeveritySlices three =
      Prepare(Severe(), Config(R"({"slice_size": 32, "window": "three"})"));
  EXPECT_EQ(single.channels, 1);
  EXPECT_EQ(three.channels, 3);
  EXPECT_EQ(single.size, 32);
  ASSERT_GT(single.count(), 4);
  EXPECT_EQ(single.slice_index, three.slice_index);
  EXPECT_EQ(single.values.size(), static_cast<size_t>(single.count() * 32 * 32));
  EXPECT_EQ(three.values.size(), static_cast<size_t>(three.count() * 3 * 32 * 32));
  for (float v : three.values) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // Lesions (GGO -700, consolidation ~10 HU) are above 0 in the (-1000, 600) window and
  // consolidation lights up the (0, 1000) channel, which air and healthy lung never reach.
  EXPECT_GT(*std::max_element(single.values.begin(), single.values.end()), 0.5f);
  const size_t plane = 32 * 32;
  float soft_tissue = 0.0f;
  for (int64_t s = 0; s < three.count(); ++s) {
    const auto first = three.values.begin() + s * three.SliceStride() + plane;
    soft_tissue = std::max(soft_tissue, *std::max_element(first, first + plane));
  }
  EXPECT_GT(soft_tissue, 0.0f);
}

TEST(SeveritySlicesTest, OutsideTheLungsIsAirAndDevicesChangeNothing) {
  const SliceEncoderConfig config = Config(R"({"slice_size": 32, "window": "three"})");
  const SeveritySlices plain = Prepare(Severe(), config);
  const SeveritySlices with_device = Prepare(WithDeviceOutsideLungs(Severe(), 3000), config);
  EXPECT_EQ(plain.slice_index, with_device.slice_index);
  EXPECT_EQ(plain.values, with_device.values);  // bit for bit

  // Without the mask the device would be visible: the body and the device are bright.
  SeverityScan unmasked = WithDeviceOutsideLungs(Severe(), 3000);
  std::fill(unmasked.lungs.voxels.begin(), unmasked.lungs.voxels.end(), 1);
  EXPECT_NE(Prepare(unmasked, config).values, plain.values);

  // Most of every slice is outside the lungs, hence exactly 0 in every channel.
  const int64_t zeros = std::count(plain.values.begin(), plain.values.end(), 0.0f);
  EXPECT_GT(zeros, static_cast<int64_t>(plain.values.size() / 2));
}

TEST(SeveritySlicesTest, SlicesAreResampledAndSelected) {
  // 10 mm phantom slices resampled to 20 mm: about half as many slices.
  const SeveritySlices native = Prepare(Severe(), Config(R"({"slice_size": 32})"));
  const SeveritySlices thick =
      Prepare(Severe(), Config(R"({"slice_size": 32, "slice_spacing_mm": 20})"));
  EXPECT_LT(thick.count(), native.count());
  EXPECT_GE(thick.count(), native.count() / 2 - 1);
  // Stricter selection keeps fewer slices, each with at least that share of the largest one.
  const SeveritySlices strict =
      Prepare(Severe(), Config(R"({"slice_size": 32, "min_lung_fraction": 0.6})"));
  const SeveritySlices all =
      Prepare(Severe(), Config(R"({"slice_size": 32, "min_lung_fraction": 0})"));
  EXPECT_LT(strict.count(), native.count());
  EXPECT_LE(native.count(), all.count());
  const int64_t most = *std::max_element(all.lung_pixels.begin(), all.lung_pixels.end());
  for (int64_t pixels : strict.lung_pixels) EXPECT_GE(pixels, 0.6 * most);
  for (int64_t pixels : all.lung_pixels) EXPECT_GT(pixels, 0);
  EXPECT_TRUE(std::is_sorted(all.slice_index.begin(), all.slice_index.end()));
}

TEST(SeveritySlicesTest, RefusesBadScans) {
  const SliceEncoderConfig config = Config(R"({"slice_size": 32})");
  SeverityScan no_lung = Severe();
  std::fill(no_lung.lungs.voxels.begin(), no_lung.lungs.voxels.end(), 0);
  absl::Status status = PrepareSeveritySlices(no_lung, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("no lung voxel"), absl::string_view::npos) << status;

  SeverityScan other_size = Severe();
  other_size.lungs = LabelVolume(other_size.ct.nx, other_size.ct.ny, other_size.ct.nz - 1,
                                 other_size.ct.spacing, 1);
  status = PrepareSeveritySlices(other_size, config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("differs from the CT grid"), absl::string_view::npos) << status;

  SeverityScan other_spacing = Severe();
  other_spacing.lungs.spacing[2] = 5.0;
  EXPECT_EQ(PrepareSeveritySlices(other_spacing, config).status().code(),
            absl::StatusCode::kInvalidArgument);

  SeverityScan empty;
  EXPECT_EQ(PrepareSeveritySlices(empty, config).status().code(),
            absl::StatusCode::kInvalidArgument);

  SeverityScan truncated = Severe();
  truncated.ct.voxels.pop_back();
  EXPECT_EQ(PrepareSeveritySlices(truncated, config).status().code(),
            absl::StatusCode::kInvalidArgument);

  SliceEncoderConfig bad = config;
  bad.depth = 0;
  EXPECT_EQ(PrepareSeveritySlices(Severe(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::nn
