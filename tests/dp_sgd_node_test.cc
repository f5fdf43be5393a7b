// Sample-level DP-SGD through a node as scancov-node assembles it (node/tasks/task_host.h: the
// real tabular_training plug-in behind the gate and its DP layer, the site's DP ledger in its
// store): the study trains with DP-SGD, the ledger holds the planned steps, the weights leave as
// trained, and a network with BatchNorm is refused by the plug-in's own declaration.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "gtest/gtest.h"
#include "models/nn/local_training.h"
#include "node/store/node_store.h"
#include "node/tabular_features.h"
#include "node/tasks/registry.h"
#include "node/tasks/task_host.h"
#include "privacy/dp/dp_ledger.h"
#include "privacy/dp/rdp_accountant.h"
#include "protocol/failure_code.h"
#include "protocol/wire/tabular_training.h"

namespace scancov {
namespace {

constexpr char kDpSgd[] =
    R"({"dp": {"mode": "dp_sgd", "clip_norm": 1.0, "noise_multiplier": 1.0, "delta": 1e-5,
               "sample_rate": 0.05}})";
constexpr char kSpec[] = R"({"features": [{"name": "age", "center": 62, "scale": 10}],
    "outcome": "severe", "validation_fraction": 0.25)";

// 300 patients with one feature, age, 8 years higher among the 120 with the outcome.
class AgeRows : public node::DatasetSource {
 public:
  AgeRows() {
    Random rng(5);
    for (int i = 0; i < 300; ++i) {
      rows_.keys.push_back(absl::StrCat("p", i));
      rows_.y.push_back(i < 120 ? 1.0 : 0.0);
      rows_.x.push_back(58 + 10 * rng.Uniform() + (i < 120 ? 8 : 0));
    }
    rows_.columns = {"age"};
  }
  absl::StatusOr<node::TabularRows> Load(const std::vector<std::string>&,
                                         const std::string&) override {
    return rows_;
  }

 private:
  node::TabularRows rows_;
};

v1::Task DpSgdTask(const std::string& model, const std::string& model_config, int round) {
  v1::Task task;
  task.set_task_id(absl::StrCat("s/r", round, "/kb"));
  task.set_study_id("s");
  task.set_round(round);
  task.set_kind(v1::TASK_KIND_TRAIN);
  task.set_study_kind("tabular_training");
  task.set_spec_json(
      absl::StrCat(kSpec, model_config.empty() ? "" : ", \"model_config\": ", model_config, "}"));
  task.set_privacy_json(kDpSgd);
  task.mutable_plan()->set_model(model);
  task.mutable_plan()->set_seed(3);
  task.mutable_plan()->set_local_epochs(2);
  task.mutable_plan()->set_learning_rate(0.05);
  return task;
}

class DpSgdNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = node::NodeStore::InMemory();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    dp_ledger_ = std::make_unique<privacy::dp::DpLedger>(store_->db());
    node::NodeResources resources;
    resources.context.site_id = "kb";
    resources.context.device = "cpu";
    resources.context.tabular = &rows_;
    resources.context.split_key = 7;
    resources.dp.max_epsilon = 100;  // a site that requires DP for every release of weights
    resources.dp_ledger = dp_ledger_.get();
    host_ = std::make_unique<node::TaskHost>(
        resources, std::initializer_list<node::TaskPluginMaker>{&node::MakeTorchTasks});
  }

  AgeRows rows_;
  std::unique_ptr<node::NodeStore> store_;
  std::unique_ptr<privacy::dp::DpLedger> dp_ledger_;
  std::unique_ptr<node::TaskHost> host_;
};

TEST_F(DpSgdNodeTest, ATabularStudyTrainsWithDpSgdAndTheLedgerHoldsItsSteps) {
  const v1::Task task = DpSgdTask("logistic", "", 1);
  const std::string config = wire::ParseTabularTrainingSpec(task.spec_json())->model_config_json;
  const protocol::TensorSet global = nn::InitModel("logistic", config, 1).value();
  auto release = host_->gate().Run(task, &global);
  ASSERT_TRUE(release.ok()) << release.status();
  ASSERT_TRUE(release->weights.has_value());
  EXPECT_NE(protocol::ToDoubles(*release->weights->Find("linear.weight")),
            protocol::ToDoubles(*global.Find("linear.weight")))
      << "trained";
  EXPECT_GT(release->header.num_samples(), 0u);
  auto spends = dp_ledger_->List();
  ASSERT_TRUE(spends.ok()) << spends.status();
  ASSERT_EQ(spends->size(), 1u);
  EXPECT_EQ((*spends)[0].mode, "dp_sgd");
  EXPECT_EQ((*spends)[0].event.steps, 2 * 20) << "2 epochs x round(1 / 0.05)";
  EXPECT_DOUBLE_EQ((*spends)[0].event.sample_rate, 0.05);
  EXPECT_DOUBLE_EQ((*spends)[0].event.noise_multiplier, 1.0);
}

TEST_F(DpSgdNodeTest, BatchNormIsRefusedBeforeTrainingAndDropoutIsFine) {
  const std::string bn = R"({"hidden": [8]})";  // batch_norm defaults to true
  v1::Task task = DpSgdTask("severity_mlp", bn, 1);
  const std::string config = wire::ParseTabularTrainingSpec(task.spec_json())->model_config_json;
  const protocol::TensorSet global = nn::InitModel("severity_mlp", config, 1).value();
  const absl::Status refused = host_->gate().Run(task, &global).status();
  EXPECT_EQ(protocol::FailureReportOf(refused), "invalid_spec") << refused;
  EXPECT_NE(refused.message().find("BatchNorm"), std::string::npos) << refused;
  EXPECT_TRUE(dp_ledger_->List()->empty());

  task = DpSgdTask("severity_mlp", R"({"hidden": [8], "batch_norm": false, "dropout": 0.2})", 2);
  const std::string plain = wire::ParseTabularTrainingSpec(task.spec_json())->model_config_json;
  const protocol::TensorSet no_bn = nn::InitModel("severity_mlp", plain, 1).value();
  auto release = host_->gate().Run(task, &no_bn);
  ASSERT_TRUE(release.ok()) << release.status();
  EXPECT_EQ(dp_ledger_->List()->size(), 1u);
}

// Segmentation (and AI-severity) train convolutional networks on CT, where per-example
// gradients are not run: the node refuses a dp_sgd study before reading anything.
TEST_F(DpSgdNodeTest, ASegmentationStudyUnderDpSgdIsRefusedWithTheReason) {
  v1::Task task = DpSgdTask("unet", "", 1);
  task.set_study_kind("segmentation");
  task.set_spec_json("{}");
  const protocol::TensorSet global;
  const absl::Status refused = host_->gate().Run(task, &global).status();
  EXPECT_EQ(protocol::FailureReportOf(refused), "invalid_spec") << refused;
  EXPECT_NE(refused.message().find("DP-SGD runs only for tabular_training"), std::string::npos)
      << refused;
  EXPECT_TRUE(dp_ledger_->List()->empty());
}

}  // namespace
}  // namespace scancov
