#include "models/stats/roc_counts.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/auc.h"

namespace scancov::stats {
namespace {

// Events {0.35, 0.8, 0.4}, non-events {0.1, 0.4, 0.9}.
const std::vector<double> kScores = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9};
const std::vector<double> kLabels = {0, 0, 1, 1, 1, 0};

TEST(RocCountsTest, CountsAtGridByHand) {
  absl::StatusOr<GridRoc> roc = RocAtGrid(kScores, kLabels, {0, 0.4, 0.85, 1});
  ASSERT_TRUE(roc.ok()) << roc.status();
  EXPECT_EQ(roc->positives, 3);
  EXPECT_EQ(roc->negatives, 3);
  ASSERT_EQ(roc->points.size(), 4u);
  const int64_t tp[] = {3, 2, 0, 0}, fp[] = {3, 2, 1, 0};  // score >= t, the tie 0.4 included
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(roc->points[k].true_positives, tp[k]) << k;
    EXPECT_EQ(roc->points[k].false_positives, fp[k]) << k;
  }
  // By hand: (1,1) -> (1,1) -> (2/3,2/3) -> (1/3,0) -> (0,0): 5/18 + 2/18.
  absl::StatusOr<double> auc = TrapezoidalAuc(*roc);
  ASSERT_TRUE(auc.ok());
  EXPECT_NEAR(*auc, 7.0 / 18, 1e-15);
}

TEST(RocCountsTest, GridOfAllDistinctScoresGivesTheExactAuc) {
  // Mann-Whitney by hand: 0.35 beats 0.1 (1), 0.8 beats 0.1 and 0.4 (2), 0.4 beats 0.1 and ties
  // 0.4 (1.5): 4.5 / 9.
  absl::StatusOr<GridRoc> roc = RocAtGrid(kScores, kLabels, {0.1, 0.35, 0.4, 0.8, 0.9});
  ASSERT_TRUE(roc.ok());
  absl::StatusOr<double> trapezoid = TrapezoidalAuc(*roc);
  ASSERT_TRUE(trapezoid.ok());
  EXPECT_NEAR(*trapezoid, 0.5, 1e-15);
  EXPECT_NEAR(*trapezoid, *Auc(kScores, kLabels), 1e-15);
}

TEST(RocCountsTest, SumAddsCountsOnTheSameGridOnly) {
  const std::vector<double> grid = EvenGrid(0, 1, 100);
  ASSERT_EQ(grid.size(), 101u);
  EXPECT_EQ(grid[37], 0.37);
  absl::StatusOr<GridRoc> a = RocAtGrid(kScores, kLabels, grid);
  absl::StatusOr<GridRoc> b = RocAtGrid({0.5, 0.2}, {1, 0}, grid);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<GridRoc> sum = SumGridRocs(std::vector<GridRoc>{*a, *b});
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->positives, 4);
  EXPECT_EQ(sum->negatives, 4);
  EXPECT_EQ(sum->points[50].true_positives, 2);   // 0.8 and 0.5
  EXPECT_EQ(sum->points[50].false_positives, 1);  // 0.9
  EXPECT_EQ(sum->points[20].false_positives, 3);  // 0.4, 0.9, 0.2
  absl::StatusOr<GridRoc> other = RocAtGrid({0.5, 0.2}, {1, 0}, EvenGrid(0, 1, 10));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(SumGridRocs(std::vector<GridRoc>{*a, *other}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RocCountsTest, CommonThresholdsKeepThePointsEveryPartHas) {
  // By hand: part 1 has thresholds 0.2, 0.4, 0.6; part 2 has 0.4, 0.5, 0.6, 0.8; part 3 all.
  const GridRoc one{3, 3, {{0.2, 3, 2}, {0.4, 2, 2}, {0.6, 1, 0}}};
  const GridRoc two{4, 4, {{0.4, 4, 3}, {0.5, 3, 3}, {0.6, 2, 1}, {0.8, 0, 0}}};
  const GridRoc three{2, 2, {{0.2, 2, 2}, {0.4, 2, 1}, {0.5, 1, 1}, {0.6, 1, 0}, {0.8, 0, 0}}};
  const std::vector<GridRoc> common = OnCommonThresholds(std::vector<GridRoc>{one, two, three});
  ASSERT_EQ(common.size(), 3u);
  for (const GridRoc& r : common) {
    ASSERT_EQ(r.points.size(), 2u);
    EXPECT_EQ(r.points[0].threshold, 0.4);
    EXPECT_EQ(r.points[1].threshold, 0.6);
  }
  EXPECT_EQ(common[1].positives, 4);  // class sizes stay
  absl::StatusOr<GridRoc> sum = SumGridRocs(common);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->points[0].true_positives, 2 + 4 + 2);
  EXPECT_EQ(sum->points[1].false_positives, 0 + 1 + 0);
  EXPECT_EQ(OnCommonThresholds(std::vector<GridRoc>{one, GridRoc{1, 1, {}}})[0].points.size(), 0u);
}

TEST(RocCountsTest, ClassSizesAreBoundedSoSumsCannotOverflow) {
  GridRoc huge{kMaxRocClassSize + 1, 1, {{0.5, 0, 0}}};
  EXPECT_EQ(ValidateGridRoc(huge).code(), absl::StatusCode::kInvalidArgument);
  huge.positives = kMaxRocClassSize;
  EXPECT_TRUE(ValidateGridRoc(huge).ok());
  const nlohmann::json j = {
      {"positives", int64_t{1} << 62}, {"negatives", 1}, {"points", nlohmann::json::array()}};
  EXPECT_EQ(GridRocFromJson(j).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RocCountsTest, RejectsBadGridsAndInputs) {
  EXPECT_FALSE(RocAtGrid(kScores, kLabels, {}).ok());
  EXPECT_FALSE(RocAtGrid(kScores, kLabels, {0.5, 0.5}).ok());
  EXPECT_FALSE(RocAtGrid(kScores, kLabels, {0.6, 0.5}).ok());
  EXPECT_FALSE(RocAtGrid(kScores, kLabels, {0, NAN}).ok());
  EXPECT_FALSE(RocAtGrid({0.1, NAN}, {0, 1}, {0}).ok());
  EXPECT_FALSE(RocAtGrid({0.1, 0.2}, {0, 2}, {0}).ok());
  EXPECT_FALSE(RocAtGrid({0.1}, {0, 1}, {0}).ok());
  absl::StatusOr<GridRoc> only_events = RocAtGrid({0.1, 0.2}, {1, 1}, {0});
  ASSERT_TRUE(only_events.ok());
  EXPECT_EQ(TrapezoidalAuc(*only_events).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RocCountsTest, JsonRoundTripAndRejectsBrokenCurves) {
  absl::StatusOr<GridRoc> roc = RocAtGrid(kScores, kLabels, {0, 0.4, 0.85, 1});
  ASSERT_TRUE(roc.ok());
  const nlohmann::json j = ToJson(*roc);
  absl::StatusOr<GridRoc> back = GridRocFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ToJson(*back), j);
  nlohmann::json increasing = j;
  increasing["points"][2]["tp"] = 3;  // more positives at a higher threshold
  EXPECT_FALSE(GridRocFromJson(increasing).ok());
  nlohmann::json too_many = j;
  too_many["points"][0]["fp"] = 4;  // more than the non-events
  EXPECT_FALSE(GridRocFromJson(too_many).ok());
  EXPECT_FALSE(GridRocFromJson(nlohmann::json::array()).ok());
  nlohmann::json no_points = j;
  no_points.erase("points");
  EXPECT_FALSE(GridRocFromJson(no_points).ok());
  nlohmann::json text = j;
  text["points"][1]["threshold"] = "0.4";
  EXPECT_FALSE(GridRocFromJson(text).ok());
}

}  // namespace
}  // namespace scancov::stats
