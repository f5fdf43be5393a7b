// Test helpers for the DP layer of the gate (node/dp_filter.h): a training task carrying a
// privacy block, a two-element model, a noise source that adds nothing (so that clipping alone
// shows), and a fixture whose gate releases a scripted update from 40 samples into an in-memory
// store with its egress and DP ledgers.
#ifndef SCANCOV_NODE_DP_GATE_TEST_UTIL_H_
#define SCANCOV_NODE_DP_GATE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "node/gate.h"
#include "node/gate_test_util.h"
#include "node/store/node_store.h"
#include "privacy/dp/dp_ledger.h"

namespace scancov::node::testing_util {

class ZeroNoise : public privacy::dp::GaussianSource {
 public:
  absl::Status FillStandardNormal(absl::Span<double> out) override {
    for (double& x : out) x = 0.0;
    return absl::OkStatus();
  }
};

// A TRAIN task of study "s" at site kb for a tabular_training study with `privacy_json`.
inline v1::Task DpTrainTask(int round, const std::string& privacy_json) {
  v1::Task t;
  t.set_task_id("s/r" + std::to_string(round) + "/kb");
  t.set_study_id("s");
  t.set_round(round);
  t.set_kind(v1::TASK_KIND_TRAIN);
  t.set_study_kind("tabular_training");
  t.set_privacy_json(privacy_json);
  return t;
}

// Float tensor "w" = `w`, and an int64 "steps" = 7 (a BatchNorm-like counter DP leaves alone).
inline protocol::TensorSet DpModel(const std::vector<float>& w) {
  protocol::TensorSet s;
  EXPECT_TRUE(s.Add(protocol::MakeFloat32("w", {static_cast<int64_t>(w.size())}, w)).ok());
  EXPECT_TRUE(s.Add(protocol::FromDoubles("steps", {}, protocol::DType::kInt64, {7})).ok());
  return s;
}

class DpGateFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = NodeStore::InMemory();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    ledger_ = std::make_unique<privacy::EgressLedger>(store_->db());
    dp_ledger_ = std::make_unique<privacy::dp::DpLedger>(store_->db());
  }

  // A gate whose training plug-in returns `trained` from 40 samples.
  std::unique_ptr<TaskGate> MakeGate(const protocol::TensorSet& trained, DpSitePolicy dp = {},
                                     std::shared_ptr<privacy::dp::GaussianSource> noise = nullptr) {
    auto plugin = std::make_unique<Scripted>();
    plugin->declared.releases_weights = true;
    plugin->produce.weights = trained;
    plugin->produce.num_samples = 40;
    plugin_ = plugin.get();
    return GateWith(std::move(plugin), dp, std::move(noise));
  }

  // A gate on this fixture's store and ledgers whose tabular_training plug-in is `plugin`;
  // `board`: where it posts DP-SGD terms (null: dp_sgd refused).
  std::unique_ptr<TaskGate> GateWith(std::unique_ptr<TaskPlugin> plugin, DpSitePolicy dp,
                                     std::shared_ptr<privacy::dp::GaussianSource> noise,
                                     DpSgdBoard* board = nullptr) {
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::move(plugin);
    GateOptions options;
    options.dp = dp;
    options.dp_ledger = dp_ledger_.get();
    options.dp_noise = std::move(noise);
    options.dp_sgd = board;
    return std::make_unique<TaskGate>(options, std::move(plugins), ledger_.get());
  }

  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<privacy::EgressLedger> ledger_;
  std::unique_ptr<privacy::dp::DpLedger> dp_ledger_;
  Scripted* plugin_ = nullptr;
};

}  // namespace scancov::node::testing_util

#endif  // SCANCOV_NODE_DP_GATE_TEST_UTIL_H_
