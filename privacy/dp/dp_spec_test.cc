#include "privacy/dp/dp_spec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::dp {
namespace {

using nlohmann::json;
using testing::HasSubstr;

json SiteBlock() {
  return {{"clip_norm", 1.0}, {"noise_multiplier", 1.1}, {"delta", 1e-5}, {"mode", "site"}};
}

json DpSgdBlock() {
  json block = SiteBlock();
  block["mode"] = "dp_sgd";
  block["sample_rate"] = 0.01;
  return block;
}

TEST(DpSpecTest, ParsesEachMode) {
  absl::StatusOr<DpSpec> site = ParseDpSpec(SiteBlock());
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->mode, DpMode::kSite);
  EXPECT_EQ(site->clip_norm, 1.0);
  EXPECT_EQ(site->noise_multiplier, 1.1);
  EXPECT_EQ(site->delta, 1e-5);
  EXPECT_EQ(site->sample_rate, 1.0);

  json distributed = SiteBlock();
  distributed["mode"] = "distributed";
  EXPECT_EQ(ParseDpSpec(distributed)->mode, DpMode::kDistributed);

  absl::StatusOr<DpSpec> sgd = ParseDpSpec(DpSgdBlock());
  ASSERT_TRUE(sgd.ok()) << sgd.status();
  EXPECT_EQ(sgd->mode, DpMode::kDpSgd);
  EXPECT_EQ(sgd->sample_rate, 0.01);
}

TEST(DpSpecTest, RoundTrips) {
  json distributed = SiteBlock();
  distributed["mode"] = "distributed";
  for (const json& block : {SiteBlock(), distributed, DpSgdBlock()}) {
    absl::StatusOr<DpSpec> spec = ParseDpSpec(block);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(DpSpecToJson(*spec), block);
  }
}

TEST(DpSpecTest, EveryKeyIsRequired) {
  for (const char* key : {"clip_norm", "noise_multiplier", "delta", "mode", "sample_rate"}) {
    json block = DpSgdBlock();
    block.erase(key);
    absl::Status status = ParseDpSpec(block, "study.dp").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(status.message(), HasSubstr(std::string("study.dp: ") + key)) << status;
  }
}

TEST(DpSpecTest, RefusesOutOfRangeValues) {
  const std::pair<const char*, json> bad[] = {
      {"clip_norm", 0.0},
      {"clip_norm", -1.0},
      {"clip_norm", 1e7},
      {"noise_multiplier", 0.0},
      {"noise_multiplier", 0.29},
      {"noise_multiplier", 1e4},
      {"delta", 0.0},
      {"delta", 0.01},
      {"delta", 1.0},
      {"sample_rate", 0.0},
      {"sample_rate", 1.5},
      {"sample_rate", -0.1},
  };
  for (const auto& [key, value] : bad) {
    json block = DpSgdBlock();
    block[key] = value;
    absl::Status status = ParseDpSpec(block).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key << "=" << value;
    EXPECT_THAT(status.message(), HasSubstr(key));
  }
  // The edges of the ranges are accepted.
  json edges = DpSgdBlock();
  edges["noise_multiplier"] = kMinNoiseMultiplier;
  edges["delta"] = kMaxDelta;
  edges["sample_rate"] = 1.0;
  EXPECT_TRUE(ParseDpSpec(edges).ok());
}

TEST(DpSpecTest, RefusesWrongTypesUnknownKeysAndModes) {
  json text = SiteBlock();
  text["clip_norm"] = "1.0";
  EXPECT_THAT(ParseDpSpec(text).status().message(), HasSubstr("clip_norm"));
  json misspelt = SiteBlock();
  misspelt["noise_multipler"] = 5.0;
  EXPECT_THAT(ParseDpSpec(misspelt).status().message(), HasSubstr("unknown key 'noise_multipler'"));
  json mode = SiteBlock();
  mode["mode"] = "central";
  EXPECT_THAT(ParseDpSpec(mode).status().message(), HasSubstr("mode must be"));
  json rate_without_sgd = SiteBlock();
  rate_without_sgd["sample_rate"] = 0.1;
  EXPECT_THAT(ParseDpSpec(rate_without_sgd).status().message(), HasSubstr("sample_rate"));
  EXPECT_FALSE(ParseDpSpec(json::array({1, 2})).ok());
  EXPECT_FALSE(ParseDpSpec(json(nullptr)).ok());
}

}  // namespace
}  // namespace scancov::privacy::dp
