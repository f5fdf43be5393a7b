#include "node/tabular_features.h"

#include <cmath>

#include "gtest/gtest.h"
#include "protocol/wire/tabular_training.h"

namespace scancov::node {
namespace {

TEST(TabularFeaturesTest, TransformsStandardisesAndImputesAtTheCentre) {
  auto spec = wire::ParseTabularTrainingSpec(R"({
    "features": [{"name": "spo2", "transform": "neglog_101_minus"},
                 {"name": "urea", "transform": "log", "center": 1, "scale": 2},
                 "age"],
    "outcome": "severe", "validation_fraction": 0.0, "model_config": {"hidden": [4]}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_NE(spec->model_config_json.find("\"input_dim\":3"), std::string::npos);
  TabularRows rows;
  rows.keys = {"a", "b"};
  rows.columns = {"spo2", "urea", "age"};
  rows.x = {95, 7.5, 70, NAN, NAN, 50};
  rows.y = {1, 0};
  auto data = PrepareTabular(rows, *spec, 7);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->train.rows, 2);
  EXPECT_NEAR(data->train.x[0], -std::log(6.0), 1e-6);  // -log(1 + 100 - 95)
  EXPECT_NEAR(data->train.x[1], (std::log(7.501) - 1) / 2, 1e-6);
  EXPECT_FLOAT_EQ(data->train.x[2], 70);
  EXPECT_FLOAT_EQ(data->train.x[3], 0);  // missing -> centre
  EXPECT_FLOAT_EQ(data->train.x[4], 0);
}

TEST(TabularFeaturesTest, SplitIsStableAndNearTheRequestedFraction) {
  auto spec = wire::ParseTabularTrainingSpec(
      R"({"features": ["age"], "outcome": "severe", "validation_fraction": 0.25})");
  ASSERT_TRUE(spec.ok());
  TabularRows rows;
  rows.columns = {"age"};
  for (int i = 0; i < 2000; ++i) {
    rows.keys.push_back("patient-" + std::to_string(i));
    rows.x.push_back(i % 90);
    rows.y.push_back(i % 2);
  }
  auto a = PrepareTabular(rows, *spec, 11);
  auto b = PrepareTabular(rows, *spec, 11);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->validation.x, b->validation.x);
  EXPECT_NEAR(a->validation.rows / 2000.0, 0.25, 0.03);
  auto c = PrepareTabular(rows, *spec, 12);
  EXPECT_NE(a->validation.x, c->validation.x);
}

TEST(TabularFeaturesTest, RefusesBadSpecsAndData) {
  EXPECT_FALSE(wire::ParseTabularTrainingSpec("{").ok());
  EXPECT_FALSE(wire::ParseTabularTrainingSpec(R"({"features": [], "outcome": "x"})").ok());
  EXPECT_FALSE(wire::ParseTabularTrainingSpec(R"({"features": ["a"]})").ok());
  EXPECT_FALSE(wire::ParseTabularTrainingSpec(
                   R"({"features": [{"name": "a", "transform": "sqrt"}], "outcome": "x"})")
                   .ok());
  auto spec = wire::ParseTabularTrainingSpec(R"({"features": [{"name": "spo2",
      "transform": "neglog_101_minus"}], "outcome": "severe"})");
  ASSERT_TRUE(spec.ok());
  TabularRows rows{{"a"}, {"spo2"}, {150}, {1}};  // SpO2 150 %: outside the transform's domain
  auto bad = PrepareTabular(rows, *spec, 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'spo2'"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("150"), std::string::npos);  // no value in the message
  TabularRows not_binary{{"a"}, {"spo2"}, {95}, {2}};
  EXPECT_FALSE(PrepareTabular(not_binary, *spec, 1).ok());
}

}  // namespace
}  // namespace scancov::node
