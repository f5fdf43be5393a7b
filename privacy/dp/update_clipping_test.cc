#include "privacy/dp/update_clipping.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scancov::privacy::dp {
namespace {

using protocol::DType;
using protocol::FromDoubles;
using protocol::TensorSet;
using protocol::ToDoubles;
using testing::HasSubstr;

TensorSet MakeSet(const std::vector<std::pair<std::string, std::vector<double>>>& tensors,
                  DType dtype = DType::kFloat64) {
  TensorSet set;
  for (const auto& [name, values] : tensors) {
    EXPECT_TRUE(
        set.Add(FromDoubles(name, {static_cast<int64_t>(values.size())}, dtype, values)).ok());
  }
  return set;
}

// The norm by the textbook formula in long double (whose range holds the square of 1e300): an
// implementation independent of L2Norm's scaling.
double ReferenceNorm(const ModelUpdate& update) {
  long double sum = 0;
  for (const auto& part : update.parts) {
    for (double x : part.values) sum += static_cast<long double>(x) * x;
  }
  return static_cast<double>(std::sqrt(sum));
}

// Sample mean and variance of `values`.
std::pair<double, double> MeanVariance(const std::vector<double>& values) {
  double mean = 0;
  for (double x : values) mean += x;
  mean /= static_cast<double>(values.size());
  double ss = 0;
  for (double x : values) ss += (x - mean) * (x - mean);
  return {mean, ss / static_cast<double>(values.size() - 1)};
}

TEST(UpdateClippingTest, TheUpdateIsOverFloatTensorsOnlyAndCountersKeepTheirLocalValue) {
  TensorSet global, local;
  ASSERT_TRUE(global.Add(FromDoubles("w", {2}, DType::kFloat32, {1.0, 2.0})).ok());
  ASSERT_TRUE(global.Add(FromDoubles("h", {2}, DType::kFloat16, {0.5, -0.5})).ok());
  ASSERT_TRUE(global.Add(FromDoubles("b", {1}, DType::kBFloat16, {4.0})).ok());
  ASSERT_TRUE(global.Add(FromDoubles("bn.num_batches_tracked", {1}, DType::kInt64, {100})).ok());
  ASSERT_TRUE(local.Add(FromDoubles("w", {2}, DType::kFloat32, {1.5, 2.0})).ok());
  ASSERT_TRUE(local.Add(FromDoubles("h", {2}, DType::kFloat16, {0.5, 0.25})).ok());
  ASSERT_TRUE(local.Add(FromDoubles("b", {1}, DType::kBFloat16, {4.0})).ok());
  ASSERT_TRUE(local.Add(FromDoubles("bn.num_batches_tracked", {1}, DType::kInt64, {137})).ok());

  absl::StatusOr<ModelUpdate> update = ComputeUpdate(local, global);
  ASSERT_TRUE(update.ok()) << update.status();
  ASSERT_EQ(update->parts.size(), 3u);
  EXPECT_THAT(update->parts[0].values, testing::ElementsAre(0.5, 0.0));
  EXPECT_THAT(update->parts[1].values, testing::ElementsAre(0.0, 0.75));
  EXPECT_NEAR(L2Norm(*update), std::sqrt(0.25 + 0.5625), 1e-15);

  // Clipped to 0.5 and written back: each dtype kept, the counter is the local one.
  Random random(7);
  SeededGaussianSource source(&random);
  absl::StatusOr<TensorSet> out = PrivatizeWeights(local, global, {0.5, 0.0, 1.0}, source);
  ASSERT_TRUE(out.ok()) << out.status();
  for (size_t i = 0; i < out->size(); ++i) {
    EXPECT_EQ(out->tensors()[i].dtype, global.tensors()[i].dtype);
  }
  EXPECT_THAT(ToDoubles(*out->Find("bn.num_batches_tracked")), testing::ElementsAre(137));
  const double scale = 0.5 / std::sqrt(0.8125);
  EXPECT_NEAR(ToDoubles(*out->Find("w"))[0], 1.0 + 0.5 * scale, 1e-7);
  EXPECT_NEAR(ToDoubles(*out->Find("h"))[1], -0.5 + 0.75 * scale, 1e-3);  // float16
}

// Property: after clipping, the norm is at most C (to rounding) for random updates of every
// size and magnitude, from 1e-30 to 1e300 (whose squares overflow a double), and an update
// above C ends exactly at C.
TEST(UpdateClippingTest, TheClippingBoundHoldsOnEveryUpdate) {
  Random random(20240611);
  for (int trial = 0; trial < 300; ++trial) {
    const double magnitude = std::pow(10.0, -30.0 + 330.0 * random.Uniform());
    const double clip = std::pow(10.0, -3.0 + 6.0 * random.Uniform());
    std::vector<std::pair<std::string, std::vector<double>>> tensors;
    const int num_tensors = 1 + static_cast<int>(random.Next() % 4);
    for (int t = 0; t < num_tensors; ++t) {
      std::vector<double> values(1 + random.Next() % 2000);
      for (double& v : values) v = magnitude * random.Normal();
      tensors.push_back({"t" + std::to_string(t), std::move(values)});
    }
    const TensorSet local = MakeSet(tensors);
    TensorSet global = MakeSet(tensors);
    for (auto& [name, values] : tensors) values.assign(values.size(), 0.0);
    global = MakeSet(tensors);
    absl::StatusOr<ModelUpdate> update = ComputeUpdate(local, global);
    ASSERT_TRUE(update.ok()) << update.status();
    const double before = ReferenceNorm(*update);
    ASSERT_TRUE(ClipToNorm(clip, &*update).ok());
    const double after = ReferenceNorm(*update);
    SCOPED_TRACE(testing::Message() << "trial " << trial << " norm " << before << " C " << clip);
    EXPECT_LE(after, clip * (1 + 1e-6));
    if (before > clip) {
      EXPECT_GE(after, clip * (1 - 1e-6));
    }
    EXPECT_NEAR(L2Norm(*update), after, 1e-12 * after);
  }
}

TEST(UpdateClippingTest, AnUpdateWithinTheBoundIsUntouched) {
  const TensorSet global = MakeSet({{"w", {0.1, -0.2, 0.3}}}, DType::kFloat32);
  const TensorSet local = MakeSet({{"w", {0.15, -0.25, 0.35}}}, DType::kFloat32);
  absl::StatusOr<ModelUpdate> update = ComputeUpdate(local, global);
  ASSERT_TRUE(update.ok());
  const std::vector<double> before = update->parts[0].values;
  EXPECT_EQ(*ClipToNorm(1.0, &*update), 1.0);
  EXPECT_EQ(update->parts[0].values, before);

  Random random(1);
  SeededGaussianSource source(&random);
  ClipReport report;
  absl::StatusOr<TensorSet> out = PrivatizeWeights(local, global, {1.0, 0.0, 1.0}, source, &report);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tensors()[0].bytes, local.tensors()[0].bytes);
  EXPECT_EQ(report.scale, 1.0);
  EXPECT_NEAR(report.norm_before, std::sqrt(3 * 0.0025), 1e-7);
}

// Noise only (an update of zero): every element is N(0, (sigma C)^2). Over n = 10^6 elements the
// sample variance has standard deviation v sqrt(2 / (n - 1)) = 0.0014 v and the mean sqrt(v / n):
// tolerances of 5 standard deviations.
void ExpectNoiseVariance(GaussianSource& source) {
  const size_t n = 1'000'000;
  const TensorSet zeros = MakeSet({{"w", std::vector<double>(n, 0.0)}});
  const NoiseSpec spec{0.7, 1.3, 1.0};
  absl::StatusOr<TensorSet> out = PrivatizeWeights(zeros, zeros, spec, source);
  ASSERT_TRUE(out.ok()) << out.status();
  const double v = std::pow(1.3 * 0.7, 2);
  const auto [mean, variance] = MeanVariance(ToDoubles(out->tensors()[0]));
  EXPECT_NEAR(variance, v, 5 * v * std::sqrt(2.0 / (n - 1)));
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(v / n));
}

TEST(UpdateClippingTest, NoiseHasTheStatedVarianceFromTheSeededSource) {
  Random random(42);
  SeededGaussianSource source(&random);
  ExpectNoiseVariance(source);
}

TEST(UpdateClippingTest, NoiseHasTheStatedVarianceFromTheCsprng) {
  CsprngGaussianSource source;
  ExpectNoiseVariance(source);
}

// Under secure aggregation each of n sites adds N(0, (sigma C)^2 / n): the sum of the sites'
// noise has variance (sigma C)^2, one site's only 1/n of it.
TEST(UpdateClippingTest, DistributedNoiseSummedOverTheSitesHasTheFullVariance) {
  const int sites = 5;
  const size_t n = 1'000'000;
  const TensorSet zeros = MakeSet({{"w", std::vector<double>(n, 0.0)}});
  const NoiseSpec spec{2.0, 0.9, DistributedShare(sites)};
  const double v = std::pow(0.9 * 2.0, 2);
  std::vector<double> sum(n, 0.0);
  for (int s = 0; s < sites; ++s) {
    Random random(1000 + s);
    SeededGaussianSource source(&random);
    absl::StatusOr<TensorSet> out = PrivatizeWeights(zeros, zeros, spec, source);
    ASSERT_TRUE(out.ok()) << out.status();
    const std::vector<double> noise = ToDoubles(out->tensors()[0]);
    if (s == 0) {
      EXPECT_NEAR(MeanVariance(noise).second, v / sites, 5 * v / sites * std::sqrt(2.0 / n));
    }
    for (size_t i = 0; i < n; ++i) sum[i] += noise[i];
  }
  EXPECT_NEAR(MeanVariance(sum).second, v, 5 * v * std::sqrt(2.0 / n));
}

TEST(UpdateClippingTest, TheSameSeedGivesTheSameWeights) {
  const TensorSet global = MakeSet({{"w", {0.0, 0.0, 0.0, 0.0}}}, DType::kFloat32);
  const TensorSet local = MakeSet({{"w", {3.0, -1.0, 2.0, 0.5}}}, DType::kFloat32);
  auto run = [&](uint64_t seed) {
    Random random(seed);
    SeededGaussianSource source(&random);
    return PrivatizeWeights(local, global, {1.0, 1.1, 1.0}, source)->tensors()[0].bytes;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(UpdateClippingTest, NonFiniteInputIsRefusedNamingTheTensor) {
  const TensorSet good = MakeSet({{"fc.weight", {1.0, 2.0}}, {"conv1.weight", {0.0, 1.0}}});
  Random random(3);
  SeededGaussianSource source(&random);
  const NoiseSpec spec{1.0, 1.0, 1.0};
  for (double bad : {NAN, INFINITY, -INFINITY}) {
    const TensorSet local = MakeSet({{"fc.weight", {1.0, 2.0}}, {"conv1.weight", {0.0, bad}}});
    absl::Status as_local = PrivatizeWeights(local, good, spec, source).status();
    EXPECT_EQ(as_local.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(as_local.message(), HasSubstr("'conv1.weight'"));
    EXPECT_THAT(as_local.message(), HasSubstr("local weight"));
    absl::Status as_global = PrivatizeWeights(good, local, spec, source).status();
    EXPECT_THAT(as_global.message(), HasSubstr("global weight"));
  }
  // Finite weights whose difference overflows.
  const TensorSet big = MakeSet({{"fc.weight", {1.0, 1e308}}, {"conv1.weight", {0.0, 0.0}}});
  const TensorSet neg = MakeSet({{"fc.weight", {1.0, -1e308}}, {"conv1.weight", {0.0, 0.0}}});
  EXPECT_THAT(PrivatizeWeights(big, neg, spec, source).status().message(),
              HasSubstr("'fc.weight': the update"));
}

TEST(UpdateClippingTest, RefusesMismatchedSetsBadSpecsAndOverflowingResults) {
  Random random(9);
  SeededGaussianSource source(&random);
  const TensorSet a = MakeSet({{"w", {1.0, 2.0}}});
  const TensorSet b = MakeSet({{"w", {1.0, 2.0, 3.0}}});
  EXPECT_THAT(PrivatizeWeights(a, b, {}, source).status().message(), HasSubstr("dp update"));
  EXPECT_FALSE(PrivatizeWeights(a, a, {0.0, 1.0, 1.0}, source).ok());
  EXPECT_FALSE(PrivatizeWeights(a, a, {1.0, -1.0, 1.0}, source).ok());
  EXPECT_FALSE(PrivatizeWeights(a, a, {1.0, 1.0, 0.0}, source).ok());
  EXPECT_FALSE(PrivatizeWeights(a, a, {1.0, 1.0, 1.5}, source).ok());
  ModelUpdate update;
  EXPECT_FALSE(ClipToNorm(INFINITY, &update).ok());
  // float16 ends at 65504: a weight near it plus large noise is refused, not sent as inf.
  const TensorSet half = MakeSet({{"w", std::vector<double>(64, 65000.0)}}, DType::kFloat16);
  absl::Status overflow = PrivatizeWeights(half, half, {1000.0, 10.0, 1.0}, source).status();
  EXPECT_THAT(overflow.message(), HasSubstr("after noise"));
}

}  // namespace
}  // namespace scancov::privacy::dp
