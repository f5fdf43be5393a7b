#include "node/tasks/model_evaluation_release.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

// A Kaplan-Meier table at 1-day resolution with cells of 1 would give a patient's event day:
// the site coarsens until every cell is 0 or at least the minimum.
TEST(ModelEvaluationReleaseTest, SurvivalTableIsCoarsenedUntilEveryCellPasses) {
  // 12 patients, one per day or so: in days every bin holds one patient.
  const std::vector<double> time = {0.5, 1.2, 1.9, 2.5, 3.3, 3.8, 4.4, 5.1, 5.6, 6.2, 6.7, 6.9};
  const std::vector<double> event = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
  absl::StatusOr<stats::SurvivalCounts> daily = stats::CountSurvival(time, event, 1.0);
  ASSERT_TRUE(daily.ok());
  EXPECT_FALSE(SurvivalCellsReleasable(*daily, 3));  // the attack: cells of 1 at 1-day bins
  absl::StatusOr<std::optional<ReleasedSurvival>> released = ReleasableSurvival(time, event, 3);
  ASSERT_TRUE(released.ok()) << released.status();
  ASSERT_TRUE(released->has_value());
  // By hand, in 2-day bins (times rounded up): 2: 3 events; 4: 3 events; 6: 3 censored;
  // 8: 3 censored.
  EXPECT_EQ((*released)->bin_width, 2);
  EXPECT_EQ((*released)->counts.times, (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ((*released)->counts.at_risk, (std::vector<int64_t>{12, 9, 6, 3}));
  EXPECT_EQ((*released)->counts.events, (std::vector<int64_t>{3, 3, 0, 0}));
  EXPECT_EQ((*released)->counts.censored, (std::vector<int64_t>{0, 0, 3, 3}));
  EXPECT_TRUE(SurvivalCellsReleasable((*released)->counts, 3));

  // With a minimum of 5, 3-day bins hold 4 events at day 3; a week holds everyone: 6 events
  // and 6 censored at day 7.
  released = ReleasableSurvival(time, event, 5);
  ASSERT_TRUE(released.ok() && released->has_value());
  EXPECT_EQ((*released)->bin_width, 7);
  EXPECT_EQ((*released)->counts.times, (std::vector<double>{7}));
  // The same patients ten times as long (5 to 69 days): in 28-day bins the first holds 4 events,
  // so one bin (420 days) for all.
  std::vector<double> longer;
  for (double t : time) longer.push_back(10 * t);
  released = ReleasableSurvival(longer, event, 5);
  ASSERT_TRUE(released.ok() && released->has_value());
  EXPECT_EQ((*released)->bin_width, 420);
  EXPECT_EQ((*released)->counts.times, (std::vector<double>{420}));
  EXPECT_EQ((*released)->counts.events, (std::vector<int64_t>{6}));
  // With 7, not even one bin: 6 events is below the minimum. Withheld.
  released = ReleasableSurvival(time, event, 7);
  ASSERT_TRUE(released.ok());
  EXPECT_FALSE(released->has_value());
  // No patients: nothing to release; bad rows: CountSurvival's error.
  EXPECT_FALSE(ReleasableSurvival({}, {}, 3)->has_value());
  EXPECT_FALSE(ReleasableSurvival({1, -2}, {1, 0}, 1).ok());
  // A minimum of 1 keeps days.
  released = ReleasableSurvival(time, event, 1);
  ASSERT_TRUE(released.ok() && released->has_value());
  EXPECT_EQ((*released)->bin_width, 1);
}

// On random cohorts: what is released always passes, and is at the finest width that does.
TEST(ModelEvaluationReleaseTest, RandomCohortsGetTheFinestPassingWidth) {
  std::mt19937_64 rng(20260416);
  std::exponential_distribution<double> days(1.0 / 6);
  std::bernoulli_distribution died(0.3);
  int coarsened = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 5 + trial % 200;
    const int m = 1 + trial % 10;
    std::vector<double> time, event;
    for (int i = 0; i < n; ++i) {
      time.push_back(std::min(days(rng), 365.0));
      event.push_back(died(rng) ? 1 : 0);
    }
    absl::StatusOr<std::optional<ReleasedSurvival>> released = ReleasableSurvival(time, event, m);
    ASSERT_TRUE(released.ok()) << released.status();
    for (double w : kSurvivalBinWidths) {
      absl::StatusOr<stats::SurvivalCounts> at_w = stats::CountSurvival(time, event, w);
      ASSERT_TRUE(at_w.ok());
      if (released->has_value() && w == (*released)->bin_width) {
        EXPECT_TRUE(SurvivalCellsReleasable((*released)->counts, m)) << trial;
        EXPECT_EQ((*released)->counts.times, at_w->times);
        break;
      }
      EXPECT_FALSE(SurvivalCellsReleasable(*at_w, m)) << "trial " << trial << " width " << w;
    }
    coarsened += released->has_value() && (*released)->bin_width > 1;
  }
  EXPECT_GT(coarsened, 50);  // the check above ran on coarsened tables
}

TEST(ModelEvaluationReleaseTest, ConfusionCellsEachPassOrNoneLeaves) {
  EXPECT_TRUE(ConfusionReleasable({0.5, 9, 3, 8, 4}, 3));
  EXPECT_TRUE(ConfusionReleasable({0.5, 0, 0, 11, 13}, 3));   // nobody above the threshold
  EXPECT_FALSE(ConfusionReleasable({0.9, 1, 0, 11, 12}, 3));  // a high-risk group of one
  EXPECT_FALSE(ConfusionReleasable({0.5, 9, 3, 8, 4}, 4));
  EXPECT_TRUE(ConfusionReleasable({0.5, 1, 1, 1, 1}, 0));  // a minimum below 1 counts as 1
  EXPECT_TRUE(CountReleasable(0, 10));
  EXPECT_FALSE(CountReleasable(9, 10));
  EXPECT_TRUE(CountReleasable(10, 10));
}

}  // namespace
}  // namespace scancov::node
