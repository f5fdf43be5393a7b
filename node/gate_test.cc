// The node's gate: every task, whatever its kind, is admitted against the site's policy, reads
// only what it declared, and releases only what it declared and the site allows, with a ledger
// entry for everything that leaves.
#include "node/gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "node/store/node_store.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;

class Rows : public DatasetSource {
 public:
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override {
    asked.insert(asked.end(), variables.begin(), variables.end());
    TabularRows rows;
    rows.columns = variables;
    for (int i = 0; i < patients; ++i) {
      rows.keys.push_back("p" + std::to_string(i));
      for (size_t j = 0; j < variables.size(); ++j) rows.x.push_back(i);
      rows.y.push_back(i % 2);
    }
    return rows;
  }
  int patients = 50;
  std::vector<std::string> asked;
};

// A plug-in that declares one thing and does another, as a buggy or hostile kind would.
class Scripted : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override { return declared; }
  absl::StatusOr<TaskOutcome> Run(const v1::Task&, const protocol::TensorSet*) override {
    if (!reads.empty()) {
      absl::StatusOr<TabularRows> rows = data->Load(reads, "severe");
      if (!rows.ok()) return rows.status();
    }
    TaskOutcome out = produce;
    return out;
  }
  TaskDeclaration declared;
  std::vector<std::string> reads;
  TaskOutcome produce;
  DatasetSource* data = nullptr;
};

v1::Task TrainingTask() {
  v1::Task t;
  t.set_task_id("s/r1/kb");
  t.set_kind(v1::TASK_KIND_TRAIN);
  t.set_study_kind("tabular_training");
  return t;
}

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<NodeStore>> store = NodeStore::InMemory();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    ledger_ = std::make_unique<privacy::EgressLedger>(store_->db());
  }

  // A gate for `policy` in front of `plugin` (as the tabular_training kind).
  std::unique_ptr<TaskGate> Gate(privacy::ReleasePolicy policy, bool allow_weights,
                                 std::unique_ptr<Scripted> plugin) {
    plugin->data = &gated_;
    plugin_ = plugin.get();
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::move(plugin);
    GateOptions options;
    options.policy = std::move(policy);
    options.allow_model_weights = allow_weights;
    options.tabular = &gated_;
    return std::make_unique<TaskGate>(options, std::move(plugins), ledger_.get());
  }

  protocol::TensorSet Weights() {
    protocol::TensorSet w;
    EXPECT_TRUE(w.Add(protocol::MakeFloat32("w", {2}, {1, 2})).ok());
    return w;
  }

  Rows rows_;
  GatedDatasetSource gated_{&rows_};
  Scripted* plugin_ = nullptr;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<privacy::EgressLedger> ledger_;
};

TEST_F(GateTest, TrainingOnAKeptBackVariableReadsNothing) {
  privacy::ReleasePolicy policy;
  policy.allowed_variables = {"age"};
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.variables = {"age", "hiv_status"};
  plugin->declared.outcome = "severe";
  plugin->declared.releases_weights = true;
  plugin->reads = {"age", "hiv_status"};
  plugin->produce.weights = Weights();
  auto gate = Gate(policy, true, std::move(plugin));
  const absl::Status s = gate->Run(TrainingTask(), nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("'hiv_status'"));
  EXPECT_TRUE(rows_.asked.empty());       // the site's rows were never read
  EXPECT_TRUE(ledger_->List()->empty());  // nothing left
}

TEST_F(GateTest, AnUndeclaredReadIsRefused) {
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.variables = {"age"};
  plugin->declared.outcome = "severe";
  plugin->reads = {"age", "crp"};  // reads more than it declared
  auto gate = Gate({}, true, std::move(plugin));
  const absl::Status s = gate->Run(TrainingTask(), nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("'crp' was not declared"));
  EXPECT_TRUE(rows_.asked.empty());
}

TEST_F(GateTest, WeightsLeaveOnlyWhenDeclaredAndAllowed) {
  auto undeclared = std::make_unique<Scripted>();
  undeclared->produce.weights = Weights();
  auto gate = Gate({}, true, std::move(undeclared));
  EXPECT_THAT(gate->Run(TrainingTask(), nullptr).status().message(), HasSubstr("did not declare"));

  auto declared = std::make_unique<Scripted>();
  declared->declared.releases_weights = true;
  declared->produce.weights = Weights();
  auto closed = Gate({}, /*allow_weights=*/false, std::move(declared));
  const absl::Status s = closed->Run(TrainingTask(), nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("allow_model_weights"));
  EXPECT_TRUE(ledger_->List()->empty());
}

TEST_F(GateTest, ACohortBelowTheSitesMinimumIsNotHandedOut) {
  rows_.patients = 7;
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.variables = {"age"};
  plugin->declared.outcome = "severe";
  plugin->reads = {"age"};
  auto gate = Gate({}, true, std::move(plugin));
  const absl::Status s = gate->Run(TrainingTask(), nullptr).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("than the minimum (10)"));
}

TEST_F(GateTest, AnAdmittedResultIsLedgeredBeforeItIsHandedOver) {
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.variables = {"age"};
  plugin->declared.outcome = "severe";
  plugin->declared.releases_weights = true;
  plugin->reads = {"age"};
  plugin->produce.weights = Weights();
  plugin->produce.num_samples = 50;
  plugin->produce.metrics["local.train_loss_end"] = 0.5;
  auto gate = Gate({}, true, std::move(plugin));
  absl::StatusOr<Release> release = gate->Run(TrainingTask(), nullptr);
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(release->header.task_id(), "s/r1/kb");
  EXPECT_EQ(release->header.num_samples(), 50u);
  auto entries = ledger_->List();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->at(0).state, "pending");
  EXPECT_EQ(entries->at(0).id, release->ledger_entry);
  EXPECT_NE(entries->at(0).tensors_json.find("\"w\""), std::string::npos);
  gate->MarkOutcome(*release, "sent", "accepted");
  EXPECT_EQ(ledger_->List()->at(0).state, "sent");
  // Outside a task the gated source hands out nothing.
  EXPECT_EQ(gated_.Load({"age"}, "severe").status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(GateTest, AKindThisNodeDoesNotRunIsUnimplemented) {
  auto gate = Gate({}, true, std::make_unique<Scripted>());
  v1::Task task = TrainingTask();
  task.set_study_kind("segmentation");
  EXPECT_EQ(gate->Run(task, nullptr).status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(GateTest, NonFiniteMetricsDoNotLeave) {
  auto plugin = std::make_unique<Scripted>();
  plugin->produce.metrics["global.val_auc"] = std::nan("");
  auto gate = Gate({}, true, std::move(plugin));
  EXPECT_THAT(gate->Run(TrainingTask(), nullptr).status().message(), HasSubstr("not finite"));
}

}  // namespace
}  // namespace scancov::node
