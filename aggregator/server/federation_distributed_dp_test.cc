// Distributed DP over secure aggregation at the Federation (federation_secagg.cc,
// privacy/dp/distributed_dp.h): three sites clip their updates, add their share of the noise
// (sd sigma C / sqrt(t)) and mask them with weight 1, as node/dp_filter.h and
// node/secagg_session.h do; the next model is the round's model plus the mean of the clipped,
// noised updates over the sites in the sum, whatever their num_samples, and the noise on it has
// sd sigma C sqrt(m / t) / m for m sites in the sum, a site dropping out after masking included.
#include <gmock/gmock.h>

#include <cmath>

#include "aggregator/server/federation_secagg_fixture.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "privacy/dp/distributed_dp.h"
#include "privacy/dp/update_clipping.h"

namespace scancov::aggregator {
namespace {

using namespace testing_fixture;  // NOLINT(build/namespaces)
namespace dp = privacy::dp;

// sigma 1, C 1, t 2: each site adds noise of sd 1 / sqrt(2).
constexpr char kDistributed[] =
    R"({"dp": {"mode": "distributed", "clip_norm": 1.0, "noise_multiplier": 1.0, "delta": 1e-5},
        "secure_aggregation": {"threshold": 2, "fractional_bits": 20, "max_abs_value": 100}})";
constexpr int kThreshold = 2;

// What a node draws when the test needs the clipped updates exactly (the spec's noise multiplier
// cannot go below 0.3).
class ZeroNoise : public dp::GaussianSource {
 public:
  absl::Status FillStandardNormal(absl::Span<double> out) override {
    for (double& x : out) x = 0.0;
    return absl::OkStatus();
  }
};

class DistributedDpFederationTest : public SecAggFederationTest {
 protected:
  // The study, and its initial model: "w" of `elements` zeros (float32), "n" = 1 (int64).
  void CreateDistributed(uint32_t min_sites, size_t elements) {
    v1::StudySpec spec = Spec("s1", 1, 0, min_sites);
    spec.set_privacy_json(kDistributed);
    spec.set_wait_after_min_s(5);
    Create(spec);
    InProcessFederationClient client(federation_.get(), SiteCaller("kb"), 16);
    auto pulled = client.PullTask();
    ASSERT_TRUE(pulled.ok() && pulled->has_task()) << pulled.status();
    ASSERT_EQ(pulled->task().kind(), v1::TASK_KIND_INIT_MODEL);
    TensorSet init;
    ASSERT_TRUE(init.Add(protocol::MakeFloat32("w", {static_cast<int64_t>(elements)},
                                               std::vector<float>(elements, 0.0f)))
                    .ok());
    ASSERT_TRUE(init.Add(protocol::FromDoubles("n", {}, protocol::DType::kInt64, {1})).ok());
    v1::UploadHeader header;
    header.set_task_id(pulled->task().task_id());
    header.set_num_samples(1);
    ASSERT_TRUE(client.UploadResult(header, &init).ok());
  }

  // The site's node: trains to global + `delta` on "w" from `samples` patients, then releases
  // the update clipped and noised with its share (node/dp_filter.h) and masks it with weight 1
  // (node/secagg_session.h, SecAggVector).
  void TrainPrivately(Site& s, const std::vector<double>& delta, uint64_t samples,
                      dp::GaussianSource& noise) {
    Pull(s);
    TensorSet trained;
    for (const protocol::Tensor& t : s.global.tensors()) {
      std::vector<double> v = ToDoubles(t);
      if (t.name == "w") {
        for (size_t i = 0; i < v.size(); ++i) v[i] += i < delta.size() ? delta[i] : 0.0;
      }
      ASSERT_TRUE(trained.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, v)).ok());
    }
    auto spec = dp::DpSpecOfOptions(s.task.privacy_json());
    ASSERT_TRUE(spec.ok() && spec->has_value()) << spec.status();
    auto share = dp::DistributedNoise(**spec, kThreshold);
    ASSERT_TRUE(share.ok()) << share.status();
    auto released = dp::PrivatizeWeights(trained, s.global, *share, noise);
    ASSERT_TRUE(released.ok()) << released.status();
    s.samples = samples;
    s.update.clear();
    for (size_t i = 0; i < s.global.size(); ++i) {
      const std::vector<double> g = ToDoubles(s.global.tensors()[i]);
      const std::vector<double> r = ToDoubles(released->tensors()[i]);
      for (size_t j = 0; j < g.size(); ++j) s.update.push_back(1.0 * (r[j] - g[j]));
    }
  }

  // The sample sd of the next model's "w" (the round's model was zero, the updates too).
  double NoiseSd() {
    const std::vector<double> w = Model("s1/c1");
    double sum = 0, sum_sq = 0;
    for (double v : w) {
      sum += v;
      sum_sq += v * v;
    }
    const double n = static_cast<double>(w.size());
    return std::sqrt((sum_sq - sum * sum / n) / (n - 1));
  }
};

// Clip norm 1: kb's (3, 4) becomes (0.6, 0.8), igr's (0.3, -0.4) is within it, hegp's (0, -2)
// becomes (0, -1). Their mean is (0.3, -0.2); weighted by 100/300/600 samples (FedAvg) it would
// be (0.15, -0.64).
TEST_F(DistributedDpFederationTest, TheNextModelIsTheMeanOfTheClippedUpdates) {
  CreateDistributed(3, 2);
  ZeroNoise none;
  TrainPrivately(sites_["kb"], {3, 4}, 100, none);
  TrainPrivately(sites_["igr"], {0.3, -0.4}, 300, none);
  TrainPrivately(sites_["hegp"], {0, -2}, 600, none);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr", "hegp"});
  Unmask({"kb", "igr", "hegp"});
  const std::vector<double> w = Model("s1/c1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 0.3, 1e-5);  // the fixed point's resolution is 2^-20
  EXPECT_NEAR(w[1], -0.2, 1e-5);
}

// Noise of sd 1 / sqrt(2) at each site on 30000 zero elements: the mean of m sites carries
// sd sqrt(m / 2) / m (0.408 for three, 0.5 for two); the sample sd is within 5 / sqrt(2n) (2%).
TEST_F(DistributedDpFederationTest, TheMeanCarriesTheNoiseOfTheSitesInTheSum) {
  constexpr size_t kElements = 30'000;
  CreateDistributed(3, kElements);
  dp::CsprngGaussianSource noise;
  for (const char* id : {"kb", "igr", "hegp"}) TrainPrivately(sites_[id], {}, 100, noise);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr", "hegp"});
  Unmask({"kb", "igr", "hegp"});
  EXPECT_NEAR(NoiseSd() / (std::sqrt(3.0 / kThreshold) / 3), 1.0, 5 / std::sqrt(2.0 * kElements));
}

TEST_F(DistributedDpFederationTest, ASiteThatDropsOutAfterMaskingIsLeftOutOfTheMean) {
  constexpr size_t kElements = 30'000;
  CreateDistributed(/*min_sites=*/2, kElements);
  dp::CsprngGaussianSource noise;
  for (const char* id : {"kb", "igr", "hegp"}) TrainPrivately(sites_[id], {}, 100, noise);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr"});  // hegp masked its update, then went away
  clock_.Advance(absl::Seconds(10));           // wait_after_min_s: the round stops waiting
  ASSERT_TRUE(federation_->Tick().ok());
  Unmask({"kb", "igr"});
  clock_.Advance(absl::Seconds(120));
  ASSERT_TRUE(federation_->Tick().ok());
  // Two sites in the sum: the noise of the mean is sqrt(2 / 2) / 2 = 0.5.
  EXPECT_NEAR(NoiseSd() / 0.5, 1.0, 5 / std::sqrt(2.0 * kElements));
}

TEST_F(DistributedDpFederationTest, ASiteThatDropsOutKeepsTheMeanOfTheOthersClippedUpdates) {
  CreateDistributed(/*min_sites=*/2, 2);
  ZeroNoise none;
  TrainPrivately(sites_["kb"], {3, 4}, 100, none);
  TrainPrivately(sites_["igr"], {0.3, -0.4}, 300, none);
  TrainPrivately(sites_["hegp"], {0, -2}, 600, none);
  Mask({"kb", "igr", "hegp"}, {"kb", "igr"});
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(federation_->Tick().ok());
  Unmask({"kb", "igr"});
  clock_.Advance(absl::Seconds(120));
  ASSERT_TRUE(federation_->Tick().ok());
  // ((0.6, 0.8) + (0.3, -0.4)) / 2.
  const std::vector<double> w = Model("s1/c1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], 0.45, 1e-5);
  EXPECT_NEAR(w[1], 0.2, 1e-5);
}

}  // namespace
}  // namespace scancov::aggregator
