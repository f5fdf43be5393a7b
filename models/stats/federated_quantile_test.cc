#include "models/stats/federated_quantile.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace scancov::stats {
namespace {

// Three "sites"; 30 values with a tie (0.47 three times) and two beyond the starting range.
const std::vector<std::vector<double>> kSites = {
    {-2.31, 0.47, -1.05, 3.92, -0.66, 1.18, -41.5, 0.47, 2.05, -1.87, 0.12},
    {-0.93, 1.64, 0.47, -3.4, 2.71, -0.21, 0.88},
    {37.2, -1.22, 0.05, 1.01, -0.48, 2.39, -2.76, 0.66, -0.07, 1.33, -1.51, 0.29}};

int64_t Total(const std::vector<std::vector<double>>& sites) {
  int64_t n = 0;
  for (const auto& s : sites) n += static_cast<int64_t>(s.size());
  return n;
}

// Runs the search as the aggregator would: each round every site counts its own values at the
// candidates, the aggregator adds the counts. Returns the pooled counts of every round.
std::vector<std::vector<int64_t>> RunSearch(FederatedQuantileSearch& search,
                                            const std::vector<std::vector<double>>& sites) {
  std::vector<std::vector<int64_t>> history;
  while (!search.done()) {
    const std::vector<double> candidates = search.Candidates();
    std::vector<int64_t> pooled(candidates.size(), 0);
    for (const auto& site : sites) {
      const std::vector<int64_t> c = CountAtOrBelow(site, candidates);
      for (size_t i = 0; i < c.size(); ++i) pooled[i] += c[i];
    }
    EXPECT_TRUE(search.Update(pooled).ok());
    history.push_back(pooled);
    if (history.size() > 50) break;
  }
  return history;
}

// Reference: R 4.x, with a, b, c the three sites above and x <- c(a, b, c):
//   quantile(x, c(1/3, 2/3), type = 7)  ->  -0.54000000000000015  0.73333333333333306
//   (type = 1 would give -0.66 and 0.66: not the definition matched)
TEST(FederatedQuantileTest, TercilesOverThreeSitesMatchRType7) {
  auto search = FederatedQuantileSearch::Create(Total(kSites), {1.0 / 3.0, 2.0 / 3.0});
  ASSERT_TRUE(search.ok()) << search.status();
  RunSearch(*search, kSites);
  ASSERT_TRUE(search->done());
  EXPECT_LE(search->rounds(), 4);  // [-30, 30] / 32^4 < 1e-4
  auto q = search->Quantiles();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_NEAR((*q)[0], -0.54000000000000015, 0.5e-4);
  EXPECT_NEAR((*q)[1], 0.73333333333333306, 0.5e-4);
}

// Reference: R, quantile(plogis(x), c(1/3, 2/3), type = 7)
//   -> 0.36841462067003883 0.67511433266544607
// The order statistics are searched on the logit scale, the interpolation done on probabilities.
TEST(FederatedQuantileTest, SigmoidTransformGivesTheProbabilityQuantiles) {
  QuantileSearchOptions options;
  options.tolerance = 1e-9;
  auto search = FederatedQuantileSearch::Create(Total(kSites), {1.0 / 3.0, 2.0 / 3.0}, options);
  ASSERT_TRUE(search.ok());
  RunSearch(*search, kSites);
  auto q = search->Quantiles([](double eta) { return 1.0 / (1.0 + std::exp(-eta)); });
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR((*q)[0], 0.36841462067003883, 1e-9 / 8);
  EXPECT_NEAR((*q)[1], 0.67511433266544607, 1e-9 / 8);
  EXPECT_LE(search->rounds(), 8);  // 60 / 32^8 < 1e-9
}

// Reference: R, quantile(x, c(0, 0.5, 1), type = 7) -> -41.5 0.205 37.2: the minimum and the
// maximum lie outside the public starting range [-30, 30], so their brackets move outward.
TEST(FederatedQuantileTest, OrderStatisticsOutsideTheStartingRangeAreFound) {
  auto search = FederatedQuantileSearch::Create(Total(kSites), {0.0, 0.5, 1.0});
  ASSERT_TRUE(search.ok());
  RunSearch(*search, kSites);
  ASSERT_TRUE(search->done());
  auto q = search->Quantiles();
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR((*q)[0], -41.5, 0.5e-4);
  EXPECT_NEAR((*q)[1], 0.205, 0.5e-4);
  EXPECT_NEAR((*q)[2], 37.2, 0.5e-4);
}

// n = 31 (one more value, 5.0, at the second site): h = 10 and 20 are whole numbers, so each
// quantile is one order statistic. Reference: R, quantile(c(x, 5), c(1/3, 2/3), type = 7)
//   -> -0.48 0.88
TEST(FederatedQuantileTest, WholeIndexNeedsOneOrderStatistic) {
  std::vector<std::vector<double>> sites = kSites;
  sites[1].push_back(5.0);
  auto search = FederatedQuantileSearch::Create(Total(sites), {1.0 / 3.0, 2.0 / 3.0});
  ASSERT_TRUE(search.ok());
  RunSearch(*search, sites);
  auto q = search->Quantiles();
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR((*q)[0], -0.48, 0.5e-4);
  EXPECT_NEAR((*q)[1], 0.88, 0.5e-4);
}

// After a restart the aggregator rebuilds the search from the pooled counts it stored.
TEST(FederatedQuantileTest, ReplayingThePooledCountsRebuildsTheSearch) {
  auto first = FederatedQuantileSearch::Create(Total(kSites), {1.0 / 3.0, 2.0 / 3.0});
  ASSERT_TRUE(first.ok());
  const std::vector<std::vector<int64_t>> history = RunSearch(*first, kSites);
  auto replay = FederatedQuantileSearch::Create(Total(kSites), {1.0 / 3.0, 2.0 / 3.0});
  ASSERT_TRUE(replay.ok());
  for (size_t r = 0; r + 1 < history.size(); ++r) ASSERT_TRUE(replay->Update(history[r]).ok());
  EXPECT_FALSE(replay->done());
  ASSERT_TRUE(replay->Update(history.back()).ok());
  ASSERT_TRUE(replay->done());
  EXPECT_EQ(*replay->Quantiles(), *first->Quantiles());
}

TEST(FederatedQuantileTest, MalformedCountsAndInputsAreRefused) {
  EXPECT_EQ(FederatedQuantileSearch::Create(0, {0.5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FederatedQuantileSearch::Create(10, {1.5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  QuantileSearchOptions bad;
  bad.tolerance = 0.0;
  EXPECT_FALSE(FederatedQuantileSearch::Create(10, {0.5}, bad).ok());
  auto search = FederatedQuantileSearch::Create(10, {0.5});
  ASSERT_TRUE(search.ok());
  EXPECT_EQ(search->Quantiles().status().code(), absl::StatusCode::kFailedPrecondition);
  const size_t k = search->Candidates().size();
  ASSERT_EQ(k, 33u);  // the two ends of [-30, 30] and 31 points inside
  std::vector<int64_t> counts(k, 5);
  EXPECT_EQ(search->Update(std::vector<int64_t>(k - 1, 5)).code(),
            absl::StatusCode::kInvalidArgument);  // one count missing
  counts[3] = 4;
  EXPECT_EQ(search->Update(counts).code(), absl::StatusCode::kInvalidArgument);  // decreasing
  counts.assign(k, 11);
  EXPECT_EQ(search->Update(counts).code(), absl::StatusCode::kInvalidArgument);  // above n
  EXPECT_EQ(search->rounds(), 0);
}

TEST(FederatedQuantileTest, CountsAreOfValuesAtOrBelowEachThreshold) {
  EXPECT_EQ(CountAtOrBelow({0.47, -1.0, 0.47, 2.0}, {-2.0, 0.47, 1.0, 3.0}),
            (std::vector<int64_t>{0, 3, 3, 4}));
}

}  // namespace
}  // namespace scancov::stats
