#include "privacy/dp/distributed_dp.h"

#include <cmath>
#include <vector>

#include "core/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "privacy/dp/dp_budget.h"
#include "protocol/tensor_set.h"

namespace scancov::privacy::dp {
namespace {

using ::testing::HasSubstr;

DpSpec Distributed(double clip_norm, double sigma) {
  DpSpec spec;
  spec.mode = DpMode::kDistributed;
  spec.clip_norm = clip_norm;
  spec.noise_multiplier = sigma;
  return spec;
}

// The sample standard deviation of `x` (mean taken out).
double Stddev(const std::vector<double>& x) {
  double sum = 0, sum_sq = 0;
  for (double v : x) {
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>(x.size());
  return std::sqrt((sum_sq - sum * sum / n) / (n - 1));
}

protocol::TensorSet Zeros(size_t n) {
  protocol::TensorSet s;
  EXPECT_TRUE(s.Add(protocol::FromDoubles("w", {static_cast<int64_t>(n)}, protocol::DType::kFloat64,
                                          std::vector<double>(n, 0.0)))
                  .ok());
  return s;
}

TEST(DistributedDpTest, EachSiteAddsItsShareOfTheNoise) {
  absl::StatusOr<NoiseSpec> noise = DistributedNoise(Distributed(2.0, 1.5), 4);
  ASSERT_TRUE(noise.ok()) << noise.status();
  EXPECT_DOUBLE_EQ(noise->share, 0.25);
  EXPECT_DOUBLE_EQ(NoiseStddev(*noise), 1.5 * 2.0 / 2.0);
  DpSpec site = Distributed(2.0, 1.5);
  site.mode = DpMode::kSite;
  EXPECT_FALSE(DistributedNoise(site, 4).ok());
  EXPECT_FALSE(DistributedNoise(Distributed(2.0, 1.5), 0).ok());
}

// The property the accounting rests on: t sites each adding their share to a zero update, their
// sum carries noise of sd sigma C (here 1.2 x 0.5 = 0.6), one site's alone sigma C / sqrt(t).
// Over 2 x 10^5 elements the sample sd is within 5 sd / sqrt(2n), about 0.8%, of its value.
TEST(DistributedDpTest, TheSumOfThresholdManySitesCarriesTheWholeNoise) {
  const DpSpec spec = Distributed(0.5, 1.2);
  constexpr int kThreshold = 3;
  constexpr size_t kElements = 200'000;
  Random random(20261207);
  SeededGaussianSource source(&random);
  const protocol::TensorSet zero = Zeros(kElements);
  std::vector<double> sum(kElements, 0.0), one;
  for (int site = 0; site < kThreshold; ++site) {
    absl::StatusOr<protocol::TensorSet> released =
        PrivatizeWeights(zero, zero, *DistributedNoise(spec, kThreshold), source);
    ASSERT_TRUE(released.ok()) << released.status();
    const std::vector<double> x = protocol::ToDoubles(released->tensors()[0]);
    if (site == 0) one = x;
    for (size_t i = 0; i < kElements; ++i) sum[i] += x[i];
  }
  const double tolerance = 5 / std::sqrt(2.0 * kElements);
  EXPECT_NEAR(Stddev(one) / (1.2 * 0.5 / std::sqrt(3.0)), 1.0, tolerance);
  EXPECT_NEAR(Stddev(sum) / (1.2 * 0.5), 1.0, tolerance);
}

TEST(DistributedDpTest, TheFixedPointRangeMustHoldTheClippedUpdateAndItsNoise) {
  const DpSpec spec = Distributed(1.0, 2.0);
  // t = 4: noise sd 1; C + 10 sd = 11, plus 1%.
  EXPECT_NEAR(DistributedElementBound(spec, 4), 11.11, 1e-9);
  EXPECT_TRUE(CheckDistributedRange(spec, 4, 12.0, "dp").ok());
  const absl::Status narrow = CheckDistributedRange(spec, 4, 10.0, "study spec");
  EXPECT_EQ(narrow.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(narrow.message(), HasSubstr("study spec: secure_aggregation.max_abs_value 10"));
  EXPECT_THAT(narrow.message(), HasSubstr("11.11"));
  EXPECT_FALSE(CheckDistributedRange(spec, 0, 1e6, "dp").ok());
}

TEST(DistributedDpTest, OnlyDistributedDpWeighsEverySiteOnce) {
  EXPECT_EQ(SumWeightingFor(std::nullopt), SumWeighting::kNumSamples);
  DpSpec spec = Distributed(1.0, 1.0);
  EXPECT_EQ(SumWeightingFor(spec), SumWeighting::kUnit);
  spec.mode = DpMode::kSite;
  EXPECT_EQ(SumWeightingFor(spec), SumWeighting::kNumSamples);
}

TEST(DistributedDpTest, TheDpBlockIsReadFromAStudysPrivacyOptions) {
  EXPECT_FALSE(DpSpecOfOptions("")->has_value());
  EXPECT_FALSE(DpSpecOfOptions(R"({"secure_aggregation": {"threshold": 2}})")->has_value());
  absl::StatusOr<std::optional<DpSpec>> dp = DpSpecOfOptions(
      R"({"dp": {"mode": "distributed", "clip_norm": 0.5, "noise_multiplier": 1, "delta": 1e-6},
          "secure_aggregation": {"threshold": 2}})");
  ASSERT_TRUE(dp.ok() && dp->has_value()) << dp.status();
  EXPECT_EQ((*dp)->mode, DpMode::kDistributed);
  EXPECT_DOUBLE_EQ((*dp)->clip_norm, 0.5);
  EXPECT_FALSE(DpSpecOfOptions("[1]").ok());
  EXPECT_FALSE(DpSpecOfOptions(R"({"dp": {"mode": "distributed"}})").ok());
}

// A release of either mode costs what the accountant gives for one Gaussian step at sigma / 2
// (sensitivity 2C), the distributed one trusting the threshold's sites for the sum's noise.
TEST(DistributedDpTest, AReleaseIsChargedAsOneStepAtHalfTheNoiseMultiplier) {
  const DpSpec spec = Distributed(1.0, 3.0);
  absl::StatusOr<StudyDpPlan> plan = PlanForStudy(spec, 1, 1, /*num_sites=*/3, true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->noise_multiplier, 1.5);
  EXPECT_DOUBLE_EQ(plan->sample_rate, 1.0);
  EXPECT_EQ(plan->rounds, 1);
}

}  // namespace
}  // namespace scancov::privacy::dp
