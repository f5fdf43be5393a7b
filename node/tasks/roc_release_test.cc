#include "node/tasks/roc_release.h"

#include <random>

#include "gtest/gtest.h"

namespace scancov::node {
namespace {

// True when every bin between consecutive released points, from the totals to (0, 0), holds
// 0 or >= m events and 0 or >= m non-events.
bool BinsObeyTheRule(const stats::GridRoc& roc, int64_t m) {
  const auto ok = [m](int64_t d) { return d == 0 || d >= m; };
  int64_t tp = roc.positives, fp = roc.negatives;
  for (const stats::GridRocPoint& p : roc.points) {
    if (!ok(tp - p.true_positives) || !ok(fp - p.false_positives)) return false;
    tp = p.true_positives;
    fp = p.false_positives;
  }
  return ok(tp) && ok(fp);
}

TEST(RocReleaseTest, TheLastBinToZeroCountsToo) {
  // Totals (6, 6); grid points (6, 6), (3, 3), (1, 0). With m = 2 the walk up keeps all three
  // (bins of (0, 0), (3, 3) and (2, 3) events and non-events), but the last bin, (1, 0) to
  // (0, 0), holds 1 event: (1, 0) is withheld.
  stats::GridRoc roc{6, 6, {{0.1, 6, 6}, {0.5, 3, 3}, {0.9, 1, 0}}};
  const stats::GridRoc released = ReleasableRoc(roc, 2);
  ASSERT_EQ(released.points.size(), 2u);
  EXPECT_EQ(released.points[1].threshold, 0.5);
  EXPECT_TRUE(BinsObeyTheRule(released, 2));
  EXPECT_FALSE(BinsObeyTheRule(roc, 2));               // the check can fail
  EXPECT_EQ(ReleasableRoc(roc, 1).points.size(), 3u);  // a minimum of 1 releases everything
  EXPECT_EQ(ReleasableRoc(roc, 0).points.size(), 3u);
}

TEST(RocReleaseTest, RandomCohortsReleaseOnlyObeyingSubsetsOfTheGrid) {
  std::mt19937_64 rng(20260415);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 20 + trial % 80;
    std::vector<double> score, y;
    for (int i = 0; i < n; ++i) {
      score.push_back(u(rng));
      y.push_back(u(rng) < 0.2 + 0.6 * score.back() ? 1.0 : 0.0);
    }
    absl::StatusOr<stats::GridRoc> full = stats::RocAtGrid(score, y, grid);
    ASSERT_TRUE(full.ok()) << full.status();
    const int m = 1 + trial % 11;
    if (full->positives < m || full->negatives < m) continue;  // the model would be refused
    const stats::GridRoc released = ReleasableRoc(*full, m);
    EXPECT_TRUE(BinsObeyTheRule(released, m)) << "trial " << trial;
    EXPECT_TRUE(stats::ValidateGridRoc(released).ok());
    size_t k = 0;  // released points are the full curve's, in order
    for (const stats::GridRocPoint& p : released.points) {
      while (k < full->points.size() && full->points[k].threshold != p.threshold) ++k;
      ASSERT_LT(k, full->points.size());
      EXPECT_EQ(full->points[k].true_positives, p.true_positives);
      EXPECT_EQ(full->points[k].false_positives, p.false_positives);
    }
    if (m >= 2 && n <= 40) EXPECT_FALSE(BinsObeyTheRule(*full, m)) << "trial " << trial;
  }
}

// The attack an anchor stops: the coordinator's high-risk threshold at 0.5 and the grid point
// 0.3 released next to it would differ by one event and one non-event, though each passes.
TEST(RocReleaseTest, AnAnchorWithholdsTheGridPointsThatWouldIsolateItsNeighbours) {
  // Totals (6, 6); (tp, fp) at 0.1 (6, 6), 0.3 (4, 4), 0.5 (3, 3), 0.7 (3, 0). m = 2.
  const stats::GridRoc roc{6, 6, {{0.1, 6, 6}, {0.3, 4, 4}, {0.5, 3, 3}, {0.7, 3, 0}}};
  // Without the anchor 0.3 is released and 0.5 and 0.7 are not: (4, 4) - (3, 3) = (1, 1) would
  // be what the confusion counts at 0.5 add.
  const stats::GridRoc plain = ReleasableRoc(roc, 2);
  ASSERT_EQ(plain.points.size(), 2u);
  EXPECT_EQ(plain.points[1].threshold, 0.3);
  // With it, 0.3 is withheld and 0.5 kept: bins (0, 0), (3, 3), (0, 3), (3, 0).
  const stats::GridRoc anchored = ReleasableRoc(roc, 2, {0.5});
  std::vector<double> thresholds;
  for (const stats::GridRocPoint& p : anchored.points) thresholds.push_back(p.threshold);
  EXPECT_EQ(thresholds, (std::vector<double>{0.1, 0.5, 0.7}));
  EXPECT_TRUE(BinsObeyTheRule(anchored, 2));
  // An anchor whose own cells break the rule is withheld: at a minimum of 4, the 3 events at
  // or above 0.7.
  const stats::GridRoc strict = ReleasableRoc(roc, 4, {0.7});
  for (const stats::GridRocPoint& p : strict.points) EXPECT_NE(p.threshold, 0.7);
  EXPECT_TRUE(BinsObeyTheRule(strict, 4));
}

TEST(RocReleaseTest, AnAnchorIsKeptExactlyWhenItsConfusionCellsPass) {
  std::mt19937_64 rng(20260416);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::vector<double> grid = stats::EvenGrid(0, 1, 100);
  int kept = 0, withheld = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 20 + trial % 150;
    std::vector<double> score, y;
    for (int i = 0; i < n; ++i) {
      score.push_back(u(rng));
      y.push_back(u(rng) < 0.2 + 0.6 * score.back() ? 1.0 : 0.0);
    }
    absl::StatusOr<stats::GridRoc> full = stats::RocAtGrid(score, y, grid);
    ASSERT_TRUE(full.ok()) << full.status();
    const int m = 1 + trial % 11;
    if (full->positives < m || full->negatives < m) continue;
    const stats::GridRocPoint& a = full->points[trial % grid.size()];
    const auto ok = [m](int64_t c) { return c == 0 || c >= m; };
    const bool cells = ok(a.true_positives) && ok(a.false_positives) &&
                       ok(full->positives - a.true_positives) &&
                       ok(full->negatives - a.false_positives);
    const stats::GridRoc released = ReleasableRoc(*full, m, {a.threshold});
    EXPECT_TRUE(BinsObeyTheRule(released, m)) << "trial " << trial;
    bool has_anchor = false;
    for (const stats::GridRocPoint& p : released.points) has_anchor |= p.threshold == a.threshold;
    EXPECT_EQ(has_anchor, cells) << "trial " << trial;
    (cells ? kept : withheld) += 1;
  }
  EXPECT_GT(kept, 20);  // both branches ran
  EXPECT_GT(withheld, 20);
}

}  // namespace
}  // namespace scancov::node
