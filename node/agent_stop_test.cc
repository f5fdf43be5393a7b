// A task the aggregator no longer counts (its round closed, it expired, its study was aborted)
// stops at the node instead of training to the end, and nothing leaves for it.
#include <atomic>
#include <memory>

#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/forwarding_client_test_util.h"
#include "node/gate.h"
#include "node/store/node_store.h"
#include "node/task_log.h"

namespace scancov::node {
namespace {

using aggregator::Caller;
using protocol::TensorSet;

const Caller kCoordinator{Caller::Role::kCoordinator, "alice"};

// Trains `epochs` epochs of 10 batches, a few milliseconds each, reporting them and checking
// the cancellation between batches, as the training loop of models/nn does.
class SlowTraining : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override {
    TaskDeclaration d;
    d.releases_weights = true;
    return d;
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    Progress ignored;
    return RunTracked(task, global, ignored);
  }
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const TensorSet* global,
                                         Progress& progress) override {
    const int n = task.kind() == v1::TASK_KIND_TRAIN ? epochs : 0;  // INIT: the weights only
    for (int e = 0; e < n; ++e) {
      progress.SetCount("epoch", e, n);
      for (int b = 0; b < 10; ++b) {
        if (progress.cancelled()) return absl::CancelledError(progress.cancel_reason());
        progress.SetSubCount("batch", b, 10);
        absl::SleepFor(absl::Milliseconds(2));
      }
      ++epochs_done;
    }
    TaskOutcome out;
    TensorSet set;
    EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {2}, {1, 1})).ok());
    out.weights = std::move(set);
    out.num_samples = 50;
    return out;
  }
  int epochs = 1000;  // some 20 s: far longer than the test waits
  std::atomic<int> epochs_done{0};
};

class Forward : public TaskPlugin {
 public:
  explicit Forward(TaskPlugin* inner) : inner_(inner) {}
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    return inner_->Declare(task);
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    return inner_->Run(task, global);
  }
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const TensorSet* global,
                                         Progress& progress) override {
    return inner_->RunTracked(task, global, progress);
  }

 private:
  TaskPlugin* inner_;
};

// The aggregator as it answers once the coordinator aborted the study: the task no longer
// counts. Counts the uploads that would leave.
class AbortedStudyClient : public ForwardingFederationClient {
 public:
  using ForwardingFederationClient::ForwardingFederationClient;
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& h,
                                                  const TensorSet* w) override {
    ++uploads;
    return inner()->UploadResult(h, w);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& r) override {
    absl::StatusOr<v1::HeartbeatResponse> answer = inner()->Heartbeat(r);
    if (answer.ok()) answer->set_task_current(!aborted);
    return answer;
  }
  std::atomic<bool> aborted{false};
  std::atomic<int> uploads{0};
};

TEST(AgentStopTest, ATaskTheAggregatorNoLongerCountsStopsAndSendsNothing) {
  FakeClock clock;
  auto store = aggregator::AggregatorStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  aggregator::FederationOptions federation_options;
  federation_options.studies = &aggregator::AllStudyLogics();
  federation_options.clock = &clock;
  aggregator::Federation federation(std::move(*store), federation_options);
  v1::EnrollSiteRequest enroll;
  enroll.set_site_id("kb");
  ASSERT_TRUE(federation.EnrollSite(kCoordinator, enroll).ok());
  v1::CreateStudyRequest create;
  create.mutable_spec()->set_name("study");
  create.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  create.mutable_spec()->add_sites("kb");
  create.mutable_spec()->set_rounds(1);
  create.mutable_spec()->mutable_plan()->set_model("toy");
  create.mutable_spec()->mutable_plan()->set_local_epochs(1000);
  create.mutable_spec()->mutable_plan()->set_learning_rate(0.1);
  ASSERT_TRUE(federation.CreateStudy(kCoordinator, create).ok());

  absl::StatusOr<std::unique_ptr<NodeStore>> node_store = NodeStore::InMemory();
  ASSERT_TRUE(node_store.ok()) << node_store.status();
  privacy::EgressLedger ledger((*node_store)->db());
  TaskLog log(**node_store);
  SlowTraining training;
  TaskPlugins plugins;
  plugins[protocol::StudyKind::tabular_training] = std::make_unique<Forward>(&training);
  GateOptions gate_options;
  gate_options.clock = &clock;
  gate_options.destination = "in-process";
  TaskGate gate(gate_options, std::move(plugins), &ledger);
  aggregator::InProcessFederationClient site(&federation, {Caller::Role::kSite, "kb"});
  AbortedStudyClient client(&site);
  AgentOptions options;
  options.clock = &clock;
  options.destination = "in-process";
  NodeAgent agent(&client, &gate, &log, options);
  ASSERT_TRUE(agent.RegisterWithRetry().ok());

  // INIT_MODEL first (the node makes the initial weights): it finishes before any check.
  absl::StatusOr<NodeAgent::Step> step = agent.RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  training.epochs_done = 0;
  client.uploads = 0;
  const size_t ledgered_before = ledger.List()->size();
  client.aborted = true;

  step = agent.RunOnce();  // the TRAIN task, whose study the coordinator "aborted"
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskStopped);
  EXPECT_LT(training.epochs_done, 1000) << "training ran to the end";
  EXPECT_EQ(client.uploads, 0) << "neither a result nor a failure leaves";
  EXPECT_EQ(ledger.List()->size(), ledgered_before) << "nothing is recorded as leaving";
  absl::StatusOr<std::vector<TaskLogEntry>> recent = log.Recent(1);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->front().state, "stopped");
  EXPECT_NE(recent->front().detail.find("the aggregator no longer counts task"), std::string::npos)
      << recent->front().detail;

  // The node goes back to pulling: the task is offered again here (the fake only pretended),
  // and with the aggregator counting it, it runs to the end and is sent.
  client.aborted = false;
  training.epochs = 2;
  step = agent.RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kRanTask);
  EXPECT_EQ(client.uploads, 1);
}

}  // namespace
}  // namespace scancov::node
