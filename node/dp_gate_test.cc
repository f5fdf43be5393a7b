// Differential privacy at the gate (node/dp_filter.h): every released update is clipped and
// noised, the site's maximum epsilon holds against a coordinator who repeats a study until the
// site refuses, and a site that requires DP releases no weights without it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "node/dp_gate_test_util.h"
#include "node/gate.h"
#include "node/gate_test_util.h"
#include "node/store/node_store.h"
#include "privacy/dp/dp_ledger.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

using testing_util::Scripted;
using testing_util::ZeroNoise;

constexpr char kSiteDp[] =
    R"({"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 1.0, "delta": 1e-5}})";
// Noise enough that a handful of releases fit in an epsilon of 3 (each costs about 1.2 alone).
constexpr char kStrongDp[] =
    R"({"dp": {"mode": "site", "clip_norm": 1.0, "noise_multiplier": 8.0, "delta": 1e-5}})";

v1::Task Train(int round, const std::string& privacy_json) {
  return testing_util::DpTrainTask(round, privacy_json);
}
protocol::TensorSet Model(float a, float b) { return testing_util::DpModel({a, b}); }

class DpGateTest : public testing_util::DpGateFixture {
 protected:
  std::unique_ptr<TaskGate> Gate(DpSitePolicy dp,
                                 std::shared_ptr<privacy::dp::GaussianSource> noise = nullptr) {
    return MakeGate(Model(30.0f, -40.0f), dp, std::move(noise));  // norm 50 from (0, 0)
  }
};

TEST_F(DpGateTest, TheReleasedUpdateIsClippedToTheStudysNorm) {
  auto gate = Gate({}, std::make_shared<ZeroNoise>());
  const protocol::TensorSet global = Model(0.0f, 0.0f);
  auto release = gate->Run(Train(1, kSiteDp), &global);
  ASSERT_TRUE(release.ok()) << release.status();
  ASSERT_TRUE(release->weights.has_value());
  const std::vector<double> w = protocol::ToDoubles(release->weights->tensors()[0]);
  // (30, -40) has norm 50: scaled to norm 1, same direction.
  EXPECT_NEAR(w[0], 0.6, 1e-6);
  EXPECT_NEAR(w[1], -0.8, 1e-6);
  EXPECT_LE(std::hypot(w[0], w[1]), 1.0 * (1 + 1e-6));
  EXPECT_EQ(protocol::ToDoubles(release->weights->tensors()[1])[0], 7) << "a counter is kept";
  auto spends = dp_ledger_->List();
  ASSERT_TRUE(spends.ok());
  ASSERT_EQ(spends->size(), 1u);
  EXPECT_EQ((*spends)[0].task_id, "s/r1/kb");
  EXPECT_DOUBLE_EQ((*spends)[0].event.noise_multiplier, 0.5) << "sensitivity 2C: sigma / 2";
}

// Noise on BatchNorm's running variance can make it negative, and the model then computes NaN
// (bench_dp_utility: every study with batch_norm failed at sigma >= 1). The release keeps them
// positive; everything else carries its noise.
TEST_F(DpGateTest, NoisedRunningVariancesStayPositive) {
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.releases_weights = true;
  protocol::TensorSet trained;
  ASSERT_TRUE(
      trained.Add(protocol::MakeFloat32("bn.running_var", {1000}, std::vector<float>(1000, 1.0f)))
          .ok());
  ASSERT_TRUE(
      trained.Add(protocol::MakeFloat32("bn.running_mean", {1000}, std::vector<float>(1000, 0.0f)))
          .ok());
  plugin->produce.weights = trained;
  plugin->produce.num_samples = 40;
  TaskPlugins plugins;
  plugins[protocol::StudyKind::tabular_training] = std::move(plugin);
  GateOptions options;
  options.dp_ledger = dp_ledger_.get();
  TaskGate gate(options, std::move(plugins), ledger_.get());
  const protocol::TensorSet global = trained;  // an update of zero: only noise, sd 8
  auto release = gate.Run(Train(1, kStrongDp), &global);
  ASSERT_TRUE(release.ok()) << release.status();
  const std::vector<double> var = protocol::ToDoubles(*release->weights->Find("bn.running_var"));
  const std::vector<double> mean = protocol::ToDoubles(*release->weights->Find("bn.running_mean"));
  EXPECT_GT(*std::min_element(var.begin(), var.end()), 0.0);  // the floor, 1e-5 in float32
  EXPECT_LT(*std::min_element(mean.begin(), mean.end()), -1.0) << "the mean is noised as it is";
}

TEST_F(DpGateTest, EveryReleaseCarriesFreshNoise) {
  auto gate = Gate({});  // the production CSPRNG source
  const protocol::TensorSet global = Model(0.0f, 0.0f);
  auto a = gate->Run(Train(1, kSiteDp), &global);
  auto b = gate->Run(Train(2, kSiteDp), &global);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<double> wa = protocol::ToDoubles(a->weights->tensors()[0]);
  const std::vector<double> wb = protocol::ToDoubles(b->weights->tensors()[0]);
  EXPECT_NE(wa, wb);
  EXPECT_NE(wa[0], 0.6f);  // noise of sd 1 on top of the clipped update
}

// The attack: a coordinator repeats a DP study round after round to average the noise away.
// The site answers until the next release would pass its maximum, then refuses with the
// policy's number only; the plug-in never runs again and nothing more leaves. The budget is the
// site's, across studies: spreading the repeats over several studies does not reset it.
TEST_F(DpGateTest, RepeatingAStudyStopsAtTheSitesMaximumEpsilon) {
  auto gate = Gate({/*max_epsilon=*/3.0, /*delta=*/1e-5});
  const protocol::TensorSet global = Model(0.0f, 0.0f);
  int released = 0;
  absl::Status refused;
  for (int round = 1; round <= 200 && refused.ok(); ++round) {
    v1::Task task = Train(round, kStrongDp);
    task.set_study_id("s" + std::to_string(round));  // a new study each time
    task.set_task_id(task.study_id() + "/r1/kb");
    auto r = gate->Run(task, &global);
    if (r.ok()) {
      ++released;
    } else {
      refused = r.status();
    }
  }
  ASSERT_FALSE(refused.ok()) << "never refused after " << released << " releases";
  EXPECT_GT(released, 1);
  EXPECT_EQ(protocol::FailureReportOf(refused), "dp_budget_exceeded max_epsilon_milli=3000");
  EXPECT_EQ(plugin_->runs, released) << "the refused task did not run";
  EXPECT_EQ(ledger_->List()->size(), static_cast<size_t>(released));
  // What the site spent, from its own ledger, is within its maximum.
  privacy::dp::RdpAccountant accountant;
  ASSERT_TRUE(accountant.ComposeAll(*dp_ledger_->Events()).ok());
  EXPECT_LE(accountant.GetEpsilon(1e-5)->epsilon, 3.0);
  ASSERT_TRUE(accountant.Compose({1.0, 4.0, 1}).ok());
  EXPECT_GT(accountant.GetEpsilon(1e-5)->epsilon, 3.0) << "one more would have passed it";
}

TEST_F(DpGateTest, ASiteWithAMaximumReleasesNoWeightsWithoutDp) {
  auto gate = Gate({/*max_epsilon=*/3.0, 1e-5});
  const protocol::TensorSet global = Model(0.0f, 0.0f);
  const absl::Status s = gate->Run(Train(1, ""), &global).status();
  EXPECT_EQ(protocol::FailureReportOf(s), "dp_required");
  EXPECT_EQ(plugin_->runs, 0);
  // An initial model is built from a seed, not from patients: it leaves without DP.
  v1::Task init = Train(0, "");
  init.set_kind(v1::TASK_KIND_INIT_MODEL);
  EXPECT_TRUE(gate->Run(init, nullptr).ok());
}

TEST_F(DpGateTest, OptionsTheNodeCannotHonourAreRefusedBeforeRunning) {
  auto gate = Gate({});
  const protocol::TensorSet global = Model(0.0f, 0.0f);
  for (const char* options :
       {R"({"dp": {"mode": "distributed", "clip_norm": 1, "noise_multiplier": 1, "delta": 1e-5}})",
        R"({"dp": {"mode": "site", "clip_norm": 1, "noise_multiplier": 0.01, "delta": 1e-5}})",
        R"({"dp": {"mode": "site", "clip": 1, "noise_multiplier": 1, "delta": 1e-5}})",
        R"({"differential_privacy": {}})", R"([1, 2])", "not json"}) {
    const absl::Status s = gate->Run(Train(1, options), &global).status();
    EXPECT_EQ(protocol::FailureReportOf(s), "invalid_spec") << options << ": " << s;
  }
  EXPECT_EQ(plugin_->runs, 0);
  EXPECT_TRUE(ledger_->List()->empty());
}

TEST_F(DpGateTest, WithoutTheGlobalModelThereIsNoUpdateToClip) {
  auto gate = Gate({});
  const absl::Status s = gate->Run(Train(1, kSiteDp), nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ledger_->List()->empty());
}

}  // namespace
}  // namespace scancov::node
