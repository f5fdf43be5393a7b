#include "aggregator/server/strategy.h"

#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using protocol::DType;
using protocol::FromDoubles;
using protocol::MakeFloat32;
using protocol::TensorSet;
using protocol::ToDoubles;

TensorSet Model(float w0, float w1, double tracked) {
  TensorSet s;
  EXPECT_TRUE(s.Add(MakeFloat32("w", {2}, {w0, w1})).ok());
  EXPECT_TRUE(s.Add(FromDoubles("bn.num_batches_tracked", {}, DType::kInt64, {tracked})).ok());
  return s;
}

TEST(FedAvgTest, WeightsBySampleCount) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 10, 3), b = Model(3, 20, 4), c = Model(5, 30, 8);
  auto out = FedAvg().Aggregate(global, {{"a", 100, &a}, {"b", 300, &b}, {"c", 600, &c}});
  ASSERT_TRUE(out.ok()) << out.status();
  // By hand: (100*1 + 300*3 + 600*5) / 1000 = 4.0; (100*10 + 300*20 + 600*30) / 1000 = 25.0
  std::vector<double> w = ToDoubles(*out->Find("w"));
  EXPECT_DOUBLE_EQ(w[0], 4.0);
  EXPECT_DOUBLE_EQ(w[1], 25.0);
  // (0.1*3 + 0.3*4 + 0.6*8) = 6.3 -> rounded to 6 for the integer buffer
  EXPECT_EQ(ToDoubles(*out->Find("bn.num_batches_tracked"))[0], 6.0);
  EXPECT_EQ(out->Find("w")->dtype, DType::kFloat32);
}

TEST(FedAvgTest, RefusesZeroSamplesAndLayoutMismatch) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1);
  EXPECT_EQ(FedAvg().Aggregate(global, {{"a", 0, &a}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  TensorSet wrong;
  ASSERT_TRUE(wrong.Add(MakeFloat32("w", {3}, {1, 2, 3})).ok());
  auto s = FedAvg().Aggregate(global, {{"a", 5, &a}, {"b", 5, &wrong}});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("site 'b'"), std::string::npos) << s.status();
  EXPECT_EQ(FedAvg().Aggregate(global, {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RobustStrategiesTest, MedianAndTrimmedMeanIgnoreAnOutlier) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1), b = Model(2, 2, 1), c = Model(3, 3, 1),
                  evil = Model(1e6, -1e6, 1);
  std::vector<ClientUpdate> updates = {{"a", 1, &a}, {"b", 1, &b}, {"c", 1, &c}, {"e", 1, &evil}};
  auto median = CoordinateMedian().Aggregate(global, updates);
  ASSERT_TRUE(median.ok());
  EXPECT_DOUBLE_EQ(ToDoubles(*median->Find("w"))[0], 2.5);
  EXPECT_DOUBLE_EQ(ToDoubles(*median->Find("w"))[1], 1.5);
  auto trimmed = TrimmedMean(1).Aggregate(global, updates);
  ASSERT_TRUE(trimmed.ok());
  EXPECT_DOUBLE_EQ(ToDoubles(*trimmed->Find("w"))[0], 2.5);
  EXPECT_EQ(TrimmedMean(2).Aggregate(global, updates).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MakeStrategyTest, ParsesNamesAndRefusesUnknown) {
  EXPECT_EQ((*MakeStrategy("fedavg"))->name(), "fedavg");
  EXPECT_EQ((*MakeStrategy("fedprox"))->name(), "fedavg");
  EXPECT_EQ((*MakeStrategy("median"))->name(), "median");
  EXPECT_EQ((*MakeStrategy("trimmed_mean:1"))->name(), "trimmed_mean");
  EXPECT_EQ(MakeStrategy("fedsgd").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeStrategy("trimmed_mean:x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::aggregator
