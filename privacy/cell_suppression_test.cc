#include "privacy/cell_suppression.h"

#include <gtest/gtest.h>

#include <numeric>

namespace scancov::privacy {
namespace {

// What an observer who knows the total and the released cells can say about the suppressed
// ones: their sum. It must be 0 or at least k, and never one cell alone.
void ExpectSafe(const std::vector<int64_t>& counts, const std::vector<bool>& suppressed,
                int64_t k) {
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  int64_t hidden = 0;
  int hidden_nonzero = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (suppressed[i]) {
      hidden += counts[i];
      hidden_nonzero += counts[i] > 0;
    } else {
      EXPECT_TRUE(CountReleasable(counts[i], total, k)) << "cell " << i;
    }
  }
  EXPECT_TRUE(hidden == 0 || (hidden >= k && hidden_nonzero != 1)) << hidden;
}

TEST(CellSuppressionTest, CountAndItsComplementMustBothPass) {
  EXPECT_TRUE(CountReleasable(0, 100, 10));
  EXPECT_TRUE(CountReleasable(10, 100, 10));
  EXPECT_FALSE(CountReleasable(9, 100, 10));
  EXPECT_FALSE(CountReleasable(95, 100, 10));  // tells that 5 are outside
  EXPECT_TRUE(CountReleasable(100, 100, 10));
}

TEST(CellSuppressionTest, OneSmallCellTakesTheNextSmallestWithIt) {
  const std::vector<int64_t> counts = {120, 200, 4, 40};  // level 2 has 4 patients
  const std::vector<bool> s = SuppressSmallCells(counts, 10);
  EXPECT_EQ(s, (std::vector<bool>{false, false, true, true}));  // 4 + 40: not recoverable alone
  ExpectSafe(counts, s, 10);
}

TEST(CellSuppressionTest, SmallCellsThatAddUpToLessThanKTakeMore) {
  const std::vector<int64_t> counts = {3, 4, 50, 60};  // 3 + 4 = 7 < 10
  const std::vector<bool> s = SuppressSmallCells(counts, 10);
  EXPECT_EQ(s, (std::vector<bool>{true, true, true, false}));
  ExpectSafe(counts, s, 10);
}

TEST(CellSuppressionTest, ARareBinaryLevelSuppressesBoth) {
  const std::vector<int64_t> counts = {395, 5};
  const std::vector<bool> s = SuppressSmallCells(counts, 10);
  EXPECT_EQ(s, (std::vector<bool>{true, true}));
  ExpectSafe(counts, s, 10);
}

TEST(CellSuppressionTest, NothingToSuppressAndZerosStay) {
  const std::vector<int64_t> counts = {30, 0, 70};
  EXPECT_EQ(SuppressSmallCells(counts, 10), (std::vector<bool>{false, false, false}));
}

TEST(CellSuppressionTest, ExhaustiveSmallTablesAreAlwaysSafe) {
  for (int64_t a = 0; a < 25; a += 3) {
    for (int64_t b = 0; b < 25; b += 2) {
      for (int64_t c = 0; c < 40; c += 5) {
        const std::vector<int64_t> counts = {a, b, c, 11};
        ExpectSafe(counts, SuppressSmallCells(counts, 10), 10);
      }
    }
  }
}

}  // namespace
}  // namespace scancov::privacy
