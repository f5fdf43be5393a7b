// Median, trimmed mean, Krum and Multi-Krum: hand-checked examples, a Byzantine update, and
// larger random cases against a direct (sort every column, all pairs) reference.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/strategy_test_util.h"
#include "gtest/gtest.h"

namespace scancov::aggregator {
namespace {

using protocol::DType;
using protocol::Tensor;
using protocol::TensorSet;
using testing::MakeSet;
using testing::RandomLike;
using testing::RunStrategy;
using testing::Values;

TensorSet Model(double w0, double w1, double tracked) {
  return MakeSet({{"w", {2}, DType::kFloat32, {w0, w1}},
                  {"bn.num_batches_tracked", {}, DType::kInt64, {tracked}}});
}

TEST(CoordinatewiseTest, MedianAndTrimmedMeanByHand) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1), b = Model(2, 2, 2), c = Model(3, 3, 4),
                  evil = Model(1e6, -1e6, 1);
  const std::vector<ClientUpdate> updates = {
      {"a", 1, &a}, {"b", 1, &b}, {"c", 1, &c}, {"e", 1, &evil}};
  auto median = RunStrategy("median", global, updates);
  ASSERT_TRUE(median.ok()) << median.status();
  // Sorted columns: w0 {1, 2, 3, 1e6} -> 2.5; w1 {-1e6, 1, 2, 3} -> 1.5; tracked {1, 1, 2, 4} ->
  // 1.5, rounded half away from zero -> 2.
  EXPECT_EQ(Values(median->global, "w"), (std::vector<double>{2.5, 1.5}));
  EXPECT_EQ(Values(median->global, "bn.num_batches_tracked")[0], 2.0);
  auto trimmed = RunStrategy("trimmed_mean:1", global, updates);
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(Values(trimmed->global, "w"), (std::vector<double>{2.5, 1.5}));
  auto none = RunStrategy("trimmed_mean:0", global, {{"a", 1, &a}, {"b", 1, &b}, {"c", 1, &c}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(Values(none->global, "w"), (std::vector<double>{2, 2}));
  auto too_much = RunStrategy("trimmed_mean:2", global, updates);
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(too_much.status().message(), "trimmed_mean: cannot trim 2 from each side of 4 updates");
}

// Four honest sites and one that sends 100 x an honest model and claims 10^9 samples. FedAvg
// follows the attacker; every robust strategy stays within the honest range.
TEST(RobustTest, AByzantineSiteScaledByHundredWithBillionSamplesStaysOutside) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 10, 5), b = Model(2, 20, 6), c = Model(3, 30, 7),
                  d = Model(4, 40, 8), evil = Model(400, 4000, 800);
  const std::vector<ClientUpdate> updates = {
      {"a", 100, &a}, {"evil", 1000000000, &evil}, {"b", 120, &b}, {"c", 90, &c}, {"d", 110, &d}};
  auto fedavg = RunStrategy("fedavg", global, updates);
  ASSERT_TRUE(fedavg.ok());
  EXPECT_GT(Values(fedavg->global, "w")[0], 399);  // the attack works on the weighted mean
  for (const char* spec :
       {"median", "trimmed_mean:1", "krum:1", "multikrum:1:2", "multikrum:1:3"}) {
    auto out = RunStrategy(spec, global, updates);
    ASSERT_TRUE(out.ok()) << spec << ": " << out.status();
    const std::vector<double> w = Values(out->global, "w");
    EXPECT_TRUE(w[0] >= 1 && w[0] <= 4) << spec << " w0 = " << w[0];
    EXPECT_TRUE(w[1] >= 10 && w[1] <= 40) << spec << " w1 = " << w[1];
    const double tracked = Values(out->global, "bn.num_batches_tracked")[0];
    EXPECT_TRUE(tracked >= 5 && tracked <= 8) << spec << " tracked = " << tracked;
  }
  // The median and trimmed mean by hand: w0 {1, 2, 3, 4, 400} -> 3; trimmed: (2 + 3 + 4) / 3.
  EXPECT_EQ(Values(RunStrategy("median", global, updates)->global, "w"),
            (std::vector<double>{3, 30}));
  EXPECT_EQ(Values(RunStrategy("trimmed_mean:1", global, updates)->global, "w"),
            (std::vector<double>{3, 30}));
}

// a=(1,1) b=(2,1) c=(1,3) d=(2,2) and 100 x a. Squared distances: ab 1, ac 4, ad 2, bc 5, bd 1,
// cd 2. With f = 1 each score sums the n - f - 2 = 2 smallest: a 1+2 = 3, b 1+1 = 2,
// c 2+4 = 6, d 1+2 = 3, evil ~ 2 x 99^2. Krum picks b; a and d tie, broken by site id (a first).
TEST(KrumTest, ByHand) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 10), b = Model(2, 1, 20), c = Model(1, 3, 30),
                  d = Model(2, 2, 41), evil = Model(100, 100, 10);
  std::vector<ClientUpdate> updates = {
      {"d", 1, &d}, {"evil", 1, &evil}, {"c", 1, &c}, {"a", 1, &a}, {"b", 1, &b}};
  std::mt19937 rng(2);
  for (int trial = 0; trial < 4; ++trial) {  // any arrival order
    auto krum = RunStrategy("krum:1", global, updates);
    ASSERT_TRUE(krum.ok()) << krum.status();
    EXPECT_EQ(krum->global.Find("w")->bytes, b.Find("w")->bytes);
    EXPECT_EQ(Values(krum->global, "bn.num_batches_tracked")[0], 20);
    auto two = RunStrategy("multikrum:1:2", global, updates);  // b and a
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(Values(two->global, "w"), (std::vector<double>{1.5, 1}));
    EXPECT_EQ(Values(two->global, "bn.num_batches_tracked")[0], 15);
    auto three = RunStrategy("multikrum:1:3", global, updates);  // b, a, d
    ASSERT_TRUE(three.ok());
    EXPECT_EQ(Values(three->global, "w"),
              (std::vector<double>{static_cast<float>(5.0 / 3), static_cast<float>(4.0 / 3)}));
    EXPECT_EQ(Values(three->global, "bn.num_batches_tracked")[0], 24);  // 71/3 = 23.67
    std::shuffle(updates.begin(), updates.end(), rng);
  }
}

TEST(KrumTest, RefusesTooFewUpdates) {
  const TensorSet global = Model(0, 0, 0);
  TensorSet m[4];
  std::vector<ClientUpdate> updates;
  for (int i = 0; i < 4; ++i) {
    m[i] = Model(i, i, i);
    updates.push_back({"s" + std::to_string(i), 1, &m[i]});
  }
  auto krum = RunStrategy("krum:1", global, updates);
  EXPECT_EQ(krum.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(krum.status().message(),
            "krum: f=1 Byzantine updates need more than 2f+2 = 4 updates, got 4");
  EXPECT_TRUE(RunStrategy("krum:0", global, updates).ok());
  auto multi = RunStrategy("multikrum:1:5", global,
                           {updates[0], updates[1], updates[2], updates[3], updates[0]});
  EXPECT_EQ(multi.status().message(), "multikrum: cannot average m=5 updates: at most n-f = 4");
  EXPECT_EQ(multi.status().code(), absl::StatusCode::kFailedPrecondition);
}

// Tensors longer than a block and than a thread's range, against a direct computation.
TEST(RobustTest, LargeTensorsMatchADirectReference) {
  kernels::SetThreads(2);
  const size_t big = 2 * kernels::kMinElementsPerThread + 4097;
  const TensorSet layout =
      MakeSet({{"big", {static_cast<int64_t>(big)}, DType::kFloat32, std::vector<double>(big, 0.0)},
               {"small", {3, 3}, DType::kFloat64, std::vector<double>(9, 0.0)},
               {"count", {}, DType::kInt64, {0}}});
  std::mt19937_64 rng(99);
  const size_t n = 7;
  std::vector<TensorSet> models;
  std::vector<ClientUpdate> updates;
  for (size_t i = 0; i < n; ++i) models.push_back(RandomLike(layout, rng, 0.1 * i, 1.0 + 0.5 * i));
  for (size_t i = 0; i < n; ++i) updates.push_back({"s" + std::to_string(i), 1 + i, &models[i]});
  auto median = RunStrategy("median", layout, updates);
  auto trimmed = RunStrategy("trimmed_mean:2", layout, updates);
  auto krum = RunStrategy("krum:2", layout, updates);
  ASSERT_TRUE(median.ok() && trimmed.ok() && krum.ok());
  for (const Tensor& t : layout.tensors()) {
    std::vector<std::vector<double>> x;
    for (const TensorSet& m : models) x.push_back(Values(m, t.name));
    std::vector<double> want_median, want_trimmed;
    for (size_t e = 0; e < x[0].size(); ++e) {
      std::vector<double> col;
      for (size_t i = 0; i < n; ++i) col.push_back(x[i][e]);
      std::sort(col.begin(), col.end());
      want_median.push_back(col[n / 2]);
      want_trimmed.push_back((col[2] + col[3] + col[4]) / 3);
    }
    EXPECT_EQ(median->global.Find(t.name)->bytes,
              protocol::FromDoubles(t.name, t.shape, t.dtype, want_median).bytes)
        << t.name;
    const std::vector<double> got = Values(trimmed->global, t.name);
    const std::vector<double> want =
        Values(MakeSet({{t.name, t.shape, t.dtype, want_trimmed}}), t.name);
    for (size_t e = 0; e < got.size(); ++e) {
      ASSERT_NEAR(got[e], want[e], 1e-6 * std::fabs(want[e]) + 1e-12) << t.name << "[" << e << "]";
    }
  }
  // Krum: all pairs over the floating tensors, in long double.
  std::vector<std::vector<double>> flat(n);
  for (size_t i = 0; i < n; ++i) {
    for (const char* name : {"big", "small"}) {
      const std::vector<double> v = Values(models[i], name);
      flat[i].insert(flat[i].end(), v.begin(), v.end());
    }
  }
  std::vector<long double> score(n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<long double> dist;
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      long double s = 0;
      for (size_t e = 0; e < flat[i].size(); ++e)
        s += (flat[i][e] - flat[j][e]) * (flat[i][e] - flat[j][e]);
      dist.push_back(s);
    }
    std::sort(dist.begin(), dist.end());
    score[i] = std::accumulate(dist.begin(), dist.begin() + (n - 2 - 2), 0.0L);
  }
  const size_t best = std::min_element(score.begin(), score.end()) - score.begin();
  EXPECT_EQ(best, 0u);  // the narrowest distribution
  EXPECT_EQ(krum->global.Find("big")->bytes, models[best].Find("big")->bytes);
  kernels::SetThreads(0);
}

TEST(RobustTest, HoldsEveryUpdateAndIgnoresSampleCounts) {
  const TensorSet global = Model(0, 0, 0);
  const TensorSet a = Model(1, 1, 1);
  auto round = (*MakeStrategy("median"))->Begin(global);
  EXPECT_EQ(round->bytes_held(), 0u);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(round->Add({"s", 0, &a}).ok());  // 0 samples: ignored, not refused
    EXPECT_EQ(round->bytes_held(), i * a.TotalBytes());
  }
}

}  // namespace
}  // namespace scancov::aggregator
