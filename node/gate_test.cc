// The node's gate: every task, whatever its kind, is admitted against the site's policy, reads
// only what it declared, and releases only what it declared and the site allows, with a ledger
// entry for everything that leaves.
#include "node/gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "core/status_macros.h"
#include "node/gate_test_util.h"
#include "node/store/node_store.h"
#include "protocol/failure_code.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

using ::testing::HasSubstr;
using testing_util::Rows;
using testing_util::Scripted;

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
                                 std::unique_ptr<Scripted> plugin,
                                 GatedDatasetSource* gated = nullptr) {
    if (gated == nullptr) gated = &gated_;
    plugin->data = gated;
    plugin_ = plugin.get();
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::move(plugin);
    GateOptions options;
    options.policy = std::move(policy);
    options.allow_model_weights = allow_weights;
    options.tabular = gated;
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

// A study that starts from an uploaded model: the site approved that model's digest with the
// plan, and its first training round runs from those weights only. An aggregator that serves
// anything else (say, weights made to memorise the site's rows) gets a refusal, not a run.
TEST_F(GateTest, RoundOneRunsOnlyFromTheInitialModelTheSiteApproved) {
  auto plugin = std::make_unique<Scripted>();
  plugin->declared.releases_weights = true;
  plugin->produce.weights = Weights();
  plugin->produce.num_samples = 50;
  auto gate = Gate({}, true, std::move(plugin));
  const protocol::TensorSet approved = Weights();
  protocol::TensorSet other;
  ASSERT_TRUE(other.Add(protocol::MakeFloat32("w", {2}, {1, 2.5f})).ok());
  v1::Task task = TrainingTask();
  task.set_study_id("s");
  task.set_round(1);
  task.mutable_plan()->set_initial_model_sha256(protocol::WeightsDigestHex(approved));

  const std::vector<const protocol::TensorSet*> served_instead = {&other, nullptr};
  for (const protocol::TensorSet* served : served_instead) {
    const absl::Status s = gate->Run(task, served).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_EQ(protocol::FailureCodeOf(s), protocol::FailureCode::kPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("not from the initial model the site approved"));
    EXPECT_THAT(s.message(), HasSubstr(task.plan().initial_model_sha256()));
  }
  EXPECT_EQ(plugin_->runs, 0);
  EXPECT_TRUE(ledger_->List()->empty());

  EXPECT_TRUE(gate->Run(task, &approved).ok());
  EXPECT_EQ(plugin_->runs, 1);
  // Later rounds start from the federation's aggregates, which no digest could name in advance.
  task.set_round(2);
  EXPECT_TRUE(gate->Run(task, &other).ok());
  EXPECT_EQ(plugin_->runs, 2);
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

// A kind that does not check its Progress runs to the end while the heartbeat cancels the
// task (the aggregator no longer counts it): what it produced is neither released nor ledgered.
class CancelledWhileRunning : public Scripted {
 public:
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const protocol::TensorSet* global,
                                         Progress& progress) override {
    progress.Cancel("the aggregator no longer counts task 's/r1/kb'");
    return Run(task, global);
  }
};

TEST_F(GateTest, ATaskCancelledWhileItRanReleasesAndLedgersNothing) {
  auto plugin = std::make_unique<CancelledWhileRunning>();
  plugin->declared.releases_weights = true;
  plugin->produce.weights = Weights();
  plugin->produce.num_samples = 50;
  CancelledWhileRunning* kind = plugin.get();
  auto gate = Gate({}, true, std::move(plugin));
  Progress progress;
  absl::StatusOr<Release> release = gate->Run(TrainingTask(), nullptr, &progress);
  EXPECT_EQ(release.status().code(), absl::StatusCode::kCancelled) << release.status();
  EXPECT_EQ(release.status().message(), "the aggregator no longer counts task 's/r1/kb'");
  EXPECT_EQ(kind->runs, 1);
  EXPECT_TRUE(ledger_->List()->empty());
  // Cancelled before it begins, the task is not even run.
  EXPECT_EQ(gate->Run(TrainingTask(), nullptr, &progress).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(kind->runs, 1);
  EXPECT_TRUE(ledger_->List()->empty());
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

// A plug-in that reads the declared variables and reports the rows it was handed.
class Counting : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override { return declared; }
  absl::StatusOr<TaskOutcome> Run(const v1::Task&, const protocol::TensorSet*) override {
    SCV_ASSIGN_OR_RETURN(TabularRows rows, data->Load(declared.variables, declared.outcome));
    handed = rows.keys;
    TaskOutcome out;
    out.num_samples = rows.keys.size();
    return out;
  }
  TaskDeclaration declared;
  DatasetSource* data = nullptr;
  std::vector<std::string> handed;
};

v1::Task AnalysisTask(const std::string& study) {
  v1::Task t;
  t.set_task_id(study + "/r1/kb");
  t.set_study_id(study);
  t.set_kind(v1::TASK_KIND_ANALYZE);
  t.set_study_kind("logistic_regression");
  return t;
}

class GateSplitTest : public GateTest {
 protected:
  std::unique_ptr<TaskGate> CountingGate(GatedDatasetSource* gated, const std::string& part,
                                         double fraction) {
    auto plugin = std::make_unique<Counting>();
    plugin->declared.variables = {"age"};
    plugin->declared.outcome = "severe";
    plugin->declared.part = part;
    plugin->declared.holdout_fraction = fraction;
    plugin->data = gated;
    counting_ = plugin.get();
    TaskPlugins plugins;
    plugins[protocol::StudyKind::logistic_regression] = std::move(plugin);
    GateOptions options;
    options.tabular = gated;
    return std::make_unique<TaskGate>(options, std::move(plugins), ledger_.get());
  }
  Counting* counting_ = nullptr;
};

// The held-out part is the site's: its key decides, the same for every study; a coordinator
// names a part and a fraction from the short list, and nothing else.
TEST_F(GateSplitTest, TheSplitIsTheSitesOwn) {
  rows_.patients = 400;
  GatedDatasetSource site_a(&rows_, nullptr, {}, /*split_key=*/0x5eed);
  auto gate = CountingGate(&site_a, "holdout", 0.25);
  ASSERT_TRUE(gate->Run(AnalysisTask("s1"), nullptr).ok());
  const std::vector<std::string> held = counting_->handed;
  EXPECT_GT(held.size(), 70u);
  EXPECT_LT(held.size(), 130u);
  for (const std::string& k : held) EXPECT_TRUE(InHoldout(k, 0x5eed, 0.25)) << k;
  // Another site's key splits the same patients differently.
  GatedDatasetSource site_b(&rows_, nullptr, {}, /*split_key=*/0xb0b);
  auto other = CountingGate(&site_b, "holdout", 0.25);
  ASSERT_TRUE(other->Run(AnalysisTask("s1"), nullptr).ok());
  EXPECT_NE(counting_->handed, held);
  // The training part is the rest.
  auto train = CountingGate(&site_a, "train", 0.25);
  ASSERT_TRUE(train->Run(AnalysisTask("s2"), nullptr).ok());
  EXPECT_EQ(counting_->handed.size() + held.size(), 400u);
}

TEST_F(GateSplitTest, AFractionOffTheListIsRefused) {
  GatedDatasetSource site(&rows_, nullptr, {}, 1);
  auto gate = CountingGate(&site, "holdout", 0.21);
  const absl::Status s = gate->Run(AnalysisTask("s1"), nullptr).status();
  EXPECT_EQ(protocol::FailureCodeOf(s), protocol::FailureCode::kInvalidSpec);
  EXPECT_TRUE(rows_.asked.empty());
}

// Attack 1 of issue 12 at the gate: a second study whose cohort differs by one patient (here,
// one more patient imported in between) gets nothing; the site's ledger shows the refusal as a
// code, and the study with the same cohort as before still runs.
TEST_F(GateSplitTest, DifferencingTwoStudiesOverOnePatientIsRefused) {
  CohortGuard guard(store_.get());
  GatedDatasetSource site(&rows_, &guard, {}, 1);
  auto gate = CountingGate(&site, "all", 0.19);
  rows_.patients = 60;
  ASSERT_TRUE(gate->Run(AnalysisTask("s1"), nullptr).ok());
  rows_.patients = 61;
  const absl::Status refused = gate->Run(AnalysisTask("s2"), nullptr).status();
  EXPECT_EQ(protocol::FailureReportOf(refused), "cohort_difference min=10");
  absl::StatusOr<Release> failure = gate->Failure(AnalysisTask("s2"), refused);
  ASSERT_TRUE(failure.ok());
  EXPECT_EQ(failure->header.failure(), "cohort_difference min=10");
  auto entries = ledger_->List();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);  // s1's result and s2's refusal, nothing else
  EXPECT_EQ(entries->at(1).kind, "failure");
  EXPECT_EQ(entries->at(1).summary_json, R"({"failure":"cohort_difference min=10"})");
  rows_.patients = 70;  // ten more: a cohort of its own
  EXPECT_TRUE(gate->Run(AnalysisTask("s3"), nullptr).ok());
}

// The guard compares the set a kind's numbers come from: a regression (complete cases) over a
// variable one patient lacks is one patient away from an earlier study's rows; a kind that
// imputes uses every row, the same cohort as before.
TEST_F(GateSplitTest, CompleteCasesCountForTheKindsThatUseThem) {
  CohortGuard guard(store_.get());
  GatedDatasetSource site(&rows_, &guard, {}, 1);
  rows_.patients = 60;
  rows_.missing_for_first = "crp";
  auto first = CountingGate(&site, "all", 0.19);
  counting_->declared.variables = {"age"};
  ASSERT_TRUE(first->Run(AnalysisTask("s1"), nullptr).ok());
  auto imputing = CountingGate(&site, "all", 0.19);
  counting_->declared.variables = {"age", "crp"};
  EXPECT_TRUE(imputing->Run(AnalysisTask("s2"), nullptr).ok());
  auto regression = CountingGate(&site, "all", 0.19);
  counting_->declared.variables = {"age", "crp"};
  counting_->declared.complete_cases = true;
  EXPECT_EQ(protocol::FailureCodeOf(regression->Run(AnalysisTask("s3"), nullptr).status()),
            protocol::FailureCode::kCohortDifference);
}

}  // namespace
}  // namespace scancov::node
