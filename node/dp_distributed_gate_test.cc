// Distributed DP at the node (node/dp_filter.h, privacy/dp/distributed_dp.h): a site's update is
// clipped as in site mode, carries only its share of the noise (sd sigma C / sqrt(t), t the
// secure-aggregation threshold) and is masked with weight 1; without secure aggregation in the
// same study, or with a fixed point too narrow for the noised update, nothing runs. A release
// is charged as one Gaussian step at sigma / 2, and the site's maximum epsilon holds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "node/dp_gate_test_util.h"
#include "node/gate.h"
#include "node/gate_test_util.h"
#include "node/secagg_session.h"
#include "node/store/node_store.h"
#include "privacy/dp/dp_ledger.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;
using testing_util::Scripted;
using testing_util::ZeroNoise;

// sigma 2, C 0.5, threshold 3: each site adds noise of sd 1 / sqrt(3).
constexpr char kDistributed[] =
    R"({"dp": {"mode": "distributed", "clip_norm": 0.5, "noise_multiplier": 2.0, "delta": 1e-5},
        "secure_aggregation": {"threshold": 3, "fractional_bits": 20, "max_abs_value": 100}})";
constexpr char kSiteWithSecAgg[] =
    R"({"dp": {"mode": "site", "clip_norm": 0.5, "noise_multiplier": 2.0, "delta": 1e-5},
        "secure_aggregation": {"threshold": 3, "fractional_bits": 20, "max_abs_value": 100}})";

v1::Task Train(int round, const std::string& privacy_json) {
  return testing_util::DpTrainTask(round, privacy_json);
}
protocol::TensorSet Model(std::vector<float> w) { return testing_util::DpModel(w); }

class DpDistributedGateTest : public testing_util::DpGateFixture {
 protected:
  std::unique_ptr<TaskGate> Gate(const protocol::TensorSet& trained, DpSitePolicy dp = {},
                                 std::shared_ptr<privacy::dp::GaussianSource> noise = nullptr) {
    return MakeGate(trained, dp, std::move(noise));
  }
};

// (30, -40) from (0, 0), norm 50, clipped to 0.5: (0.3, -0.4). Masked with weight 1 under
// distributed DP, with FedAvg's 40 (the site's samples) under site DP.
TEST_F(DpDistributedGateTest, TheUpdateIsClippedAndMaskedWithWeightOne) {
  const protocol::TensorSet global = Model({0, 0});
  for (const auto& [options, weight] :
       std::vector<std::pair<std::string, double>>{{kDistributed, 1.0}, {kSiteWithSecAgg, 40.0}}) {
    auto gate = Gate(Model({30, -40}), {}, std::make_shared<ZeroNoise>());
    const v1::Task task = Train(1, options);
    absl::StatusOr<Release> release = gate->Run(task, &global);
    ASSERT_TRUE(release.ok()) << release.status();
    absl::StatusOr<SecAggPayload> payload =
        SecAggPayloadOf(task, &global, release->header, release->weights);
    ASSERT_TRUE(payload.ok()) << payload.status();
    ASSERT_EQ(payload->vector.size(), 3u);
    EXPECT_NEAR(payload->vector[0], weight * 0.3, weight * 1e-6) << options;
    EXPECT_NEAR(payload->vector[1], weight * -0.4, weight * 1e-6) << options;
    EXPECT_LE(std::hypot(payload->vector[0], payload->vector[1]), weight * 0.5 * (1 + 1e-6));
    EXPECT_EQ(payload->vector[2], 0.0) << "the counter is not part of the update";
    EXPECT_EQ(payload->header.num_samples(), 40u) << "still reported";
  }
}

// A zero update: what leaves is the site's share of the noise only, sd sigma C / sqrt(t) =
// 1 / sqrt(3) from the production CSPRNG. Over 2 x 10^5 elements the sample sd is within
// 5 / sqrt(2n) (0.8%) of it; site mode's sd (1, sqrt(3) times more) is far outside.
TEST_F(DpDistributedGateTest, EachSiteAddsNoiseOfSdSigmaCOverTheRootOfTheThreshold) {
  constexpr size_t kElements = 200'000;
  const protocol::TensorSet zero = Model(std::vector<float>(kElements, 0.0f));
  auto gate = Gate(zero);
  absl::StatusOr<Release> release = gate->Run(Train(1, kDistributed), &zero);
  ASSERT_TRUE(release.ok()) << release.status();
  const std::vector<double> x = protocol::ToDoubles(*release->weights->Find("w"));
  double sum = 0, sum_sq = 0;
  for (double v : x) {
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>(x.size());
  const double sd = std::sqrt((sum_sq - sum * sum / n) / (n - 1));
  EXPECT_NEAR(sd / (2.0 * 0.5 / std::sqrt(3.0)), 1.0, 5 / std::sqrt(2 * n));
  EXPECT_NEAR(sum / n, 0.0, 5 * sd / std::sqrt(n));
}

TEST_F(DpDistributedGateTest, WithoutSecureAggregationNothingRuns) {
  const protocol::TensorSet global = Model({0, 0});
  auto gate = Gate(Model({30, -40}));
  const absl::Status s = gate->Run(Train(1, R"({"dp": {"mode": "distributed", "clip_norm": 0.5,
                                     "noise_multiplier": 2.0, "delta": 1e-5}})"),
                                   &global)
                             .status();
  EXPECT_EQ(protocol::FailureReportOf(s), "invalid_spec") << s;
  EXPECT_THAT(s.message(), HasSubstr("needs secure aggregation"));
  // A fixed point too narrow for the clipped update plus 10 sd of its noise (0.5 + 5.77).
  const absl::Status narrow = gate->Run(Train(2, R"({"dp": {"mode": "distributed", "clip_norm": 0.5,
                                     "noise_multiplier": 2.0, "delta": 1e-5},
                              "secure_aggregation": {"threshold": 3, "max_abs_value": 5}})"),
                                        &global)
                                  .status();
  EXPECT_EQ(protocol::FailureReportOf(narrow), "invalid_spec") << narrow;
  EXPECT_THAT(narrow.message(), HasSubstr("max_abs_value"));
  EXPECT_EQ(plugin_->runs, 0);
  EXPECT_TRUE(ledger_->List()->empty());
  EXPECT_TRUE(dp_ledger_->List()->empty());
}

// The ledger charges a distributed release as the accountant's one step at sigma / 2, and the
// site's maximum stops a coordinator who repeats the study, as in site mode.
TEST_F(DpDistributedGateTest, EachReleaseIsChargedAtHalfSigmaWithinTheSitesMaximum) {
  const protocol::TensorSet global = Model({0, 0});
  // sigma 8 (accountant 4): a handful of releases fit in epsilon 3.
  constexpr char kStrong[] =
      R"({"dp": {"mode": "distributed", "clip_norm": 1.0, "noise_multiplier": 8.0,
                 "delta": 1e-5},
          "secure_aggregation": {"threshold": 2, "max_abs_value": 100}})";
  auto gate = Gate(Model({30, -40}), {/*max_epsilon=*/3.0, /*delta=*/1e-5});
  int released = 0;
  absl::Status refused;
  for (int round = 1; round <= 200 && refused.ok(); ++round) {
    absl::StatusOr<Release> r = gate->Run(Train(round, kStrong), &global);
    if (r.ok()) {
      ++released;
    } else {
      refused = r.status();
    }
  }
  ASSERT_FALSE(refused.ok()) << "never refused after " << released << " releases";
  EXPECT_EQ(protocol::FailureReportOf(refused), "dp_budget_exceeded max_epsilon_milli=3000");
  auto spends = dp_ledger_->List();
  ASSERT_TRUE(spends.ok());
  ASSERT_EQ(spends->size(), static_cast<size_t>(released));
  EXPECT_EQ((*spends)[0].mode, "distributed");
  EXPECT_DOUBLE_EQ((*spends)[0].event.noise_multiplier, 4.0);
  EXPECT_DOUBLE_EQ((*spends)[0].event.sample_rate, 1.0);
  // The accountant's epsilon for `released` Gaussian steps at 4 is within the maximum; one more
  // step would pass it.
  privacy::dp::RdpAccountant accountant;
  ASSERT_TRUE(accountant.Compose({1.0, 4.0, released}).ok());
  EXPECT_LE(accountant.GetEpsilon(1e-5)->epsilon, 3.0);
  ASSERT_TRUE(accountant.Compose({1.0, 4.0, 1}).ok());
  EXPECT_GT(accountant.GetEpsilon(1e-5)->epsilon, 3.0);
}

}  // namespace
}  // namespace scancov::node
