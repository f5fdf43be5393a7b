#include "protocol/wire/segmentation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

namespace scancov::wire {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Spec() {
  return json::parse(R"({"task": "segmentation", "target": "lesions", "in_plane": 96,
    "validation_fraction": 0.2, "max_series": 40, "augment": "geometric",
    "evaluate_all": true, "model_config": {"depth": 4, "base_channels": 8}})");
}

TEST(SegmentationWireTest, SpecRoundTripAndDefaults) {
  absl::StatusOr<SegmentationSpec> spec = ParseSegmentationSpec(Spec().dump());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->target, "lesions");
  EXPECT_EQ(spec->in_plane, 96);
  EXPECT_EQ(spec->max_series, 40);
  EXPECT_EQ(spec->augment, SegmentationAugment::kGeometric);
  EXPECT_TRUE(spec->evaluate_all);
  EXPECT_EQ(json::parse(spec->model_config), Spec().at("model_config"));
  EXPECT_EQ(json::parse(ToJson(*spec)), Spec());

  absl::StatusOr<SegmentationSpec> defaults = ParseSegmentationSpec("");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->target, "lungs");
  EXPECT_EQ(defaults->in_plane, 64);
  EXPECT_EQ(defaults->validation_fraction, 0.25);
  EXPECT_EQ(defaults->augment, SegmentationAugment::kNone);
  EXPECT_TRUE(defaults->model_config.empty());
  absl::StatusOr<SegmentationSpec> back = ParseSegmentationSpec(ToJson(*defaults));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), ToJson(*defaults));
  // augment: true is "full", false "none".
  EXPECT_EQ(ParseSegmentationSpec(R"({"augment": true})")->augment, SegmentationAugment::kFull);
  EXPECT_EQ(ParseSegmentationSpec(R"({"augment": false})")->augment, SegmentationAugment::kNone);
  EXPECT_EQ(ParseSegmentationSpec(R"({"augment": "full"})")->augment, SegmentationAugment::kFull);
  // The study's minimum count: absent is 0 (the site's own), and it round-trips.
  EXPECT_EQ(defaults->min_cell_count, 0);
  EXPECT_FALSE(json::parse(ToJson(*defaults)).contains("min_cell_count"));
  json strict = Spec();
  strict["min_cell_count"] = 12;
  absl::StatusOr<SegmentationSpec> tightened = ParseSegmentationSpec(strict.dump());
  ASSERT_TRUE(tightened.ok()) << tightened.status();
  EXPECT_EQ(tightened->min_cell_count, 12);
  EXPECT_EQ(json::parse(ToJson(*tightened)), strict);
}

TEST(SegmentationWireTest, SpecBoundsNameTheField) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j["task"] = "ai_severity"; }, "task"},
      {[](json& j) { j["target"] = "airways"; }, "target"},
      {[](json& j) { j["in_plane"] = 8; }, "in_plane"},
      {[](json& j) { j["in_plane"] = 2048; }, "in_plane"},
      {[](json& j) { j["in_plane"] = "64"; }, "in_plane"},
      {[](json& j) { j["validation_fraction"] = -0.1; }, "validation_fraction"},
      {[](json& j) { j["max_series"] = -1; }, "max_series"},
      {[](json& j) { j["augment"] = "strong"; }, "augment"},
      {[](json& j) { j["augment"] = 1; }, "augment"},
      {[](json& j) { j["evaluate_all"] = "yes"; }, "evaluate_all"},
      {[](json& j) { j["min_cell_count"] = -1; }, "min_cell_count"},
      {[](json& j) { j["min_cell_count"] = 100001; }, "min_cell_count"},
      {[](json& j) { j["model_config"] = "unet"; }, "model_config"},
  };
  for (const auto& [edit, field] : cases) {
    json j = Spec();
    edit(j);
    const absl::Status s = ParseSegmentationSpec(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << j.dump();
    EXPECT_THAT(s.message(), HasSubstr(field)) << j.dump();
  }
  EXPECT_FALSE(ParseSegmentationSpec("[1]").ok());
}

TEST(SegmentationWireTest, MetricNamesByTarget) {
  const std::vector<std::string> lungs = SegmentationMetricNames("lungs");
  const std::vector<std::string> lesions = SegmentationMetricNames("lesions");
  auto has = [](const std::vector<std::string>& v, const std::string& name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  EXPECT_TRUE(has(lungs, "global.dice_left"));
  EXPECT_FALSE(has(lungs, "global.lesion_f1"));
  EXPECT_TRUE(has(lesions, "global.dice_crazy_paving"));
  EXPECT_TRUE(has(lesions, "global.rve_consolidation"));
  EXPECT_FALSE(has(lesions, "global.dice_right"));
  for (const auto* names : {&lungs, &lesions}) {
    EXPECT_TRUE(has(*names, "global.n_val"));
    EXPECT_TRUE(has(*names, "local.train_loss_end"));
    EXPECT_TRUE(has(*names, kSegValWithheld));  // a site below the minimum says so
  }
  EXPECT_TRUE(has(lesions, kSegLesionCountsWithheld));
  EXPECT_EQ(SegLesionDiceMetric(2), "global.dice_ggo");
}

}  // namespace
}  // namespace scancov::wire
