// A task the aggregator no longer counts (its round closed, it expired, its study was aborted)
// stops at the node instead of training to the end, and nothing leaves for it but its
// heartbeats, which the egress ledger records.
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/forwarding_client_test_util.h"
#include "node/gate.h"
#include "node/store/node_store.h"
#include "node/task_log.h"
#include "tests/test_sites.h"

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
    ++beats;
    absl::StatusOr<v1::HeartbeatResponse> answer = inner()->Heartbeat(r);
    if (answer.ok()) answer->set_task_current(!aborted);
    return answer;
  }
  std::atomic<bool> aborted{false};
  std::atomic<int> uploads{0};
  std::atomic<int> beats{0};  // heartbeats sent (they leave the site)
};

// One site, a one-round training study of 1000 slow epochs, and the node's agent, registered.
class AgentStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ = testing_sites::InMemoryFederation(clock_);
    v1::EnrollSiteRequest enroll;
    enroll.set_site_id("kb");
    ASSERT_TRUE(federation_->EnrollSite(kCoordinator, enroll).ok());
    v1::CreateStudyRequest create;
    create.mutable_spec()->set_name("study");
    create.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
    create.mutable_spec()->add_sites("kb");
    create.mutable_spec()->set_rounds(1);
    create.mutable_spec()->mutable_plan()->set_model("toy");
    create.mutable_spec()->mutable_plan()->set_local_epochs(1000);
    create.mutable_spec()->mutable_plan()->set_learning_rate(0.1);
    ASSERT_TRUE(federation_->CreateStudy(kCoordinator, create).ok());

    absl::StatusOr<std::unique_ptr<NodeStore>> node_store = NodeStore::InMemory();
    ASSERT_TRUE(node_store.ok()) << node_store.status();
    node_store_ = std::move(*node_store);
    ledger_ = std::make_unique<privacy::EgressLedger>(node_store_->db());
    log_ = std::make_unique<TaskLog>(*node_store_);
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::make_unique<Forward>(&training_);
    GateOptions gate_options;
    gate_options.clock = &clock_;
    gate_options.destination = "in-process";
    gate_ = std::make_unique<TaskGate>(gate_options, std::move(plugins), ledger_.get());
    site_ = std::make_unique<aggregator::InProcessFederationClient>(
        federation_.get(), Caller{Caller::Role::kSite, "kb"});
    client_ = std::make_unique<AbortedStudyClient>(site_.get());
  }
  // The agent, registered, with the INIT_MODEL task done (the node makes the initial weights;
  // it finishes before any check): the next step is the TRAIN task.
  std::unique_ptr<NodeAgent> AgentBeforeTraining(AgentOptions options) {
    options.clock = &clock_;
    options.destination = "in-process";
    auto agent = std::make_unique<NodeAgent>(client_.get(), gate_.get(), log_.get(), options);
    EXPECT_TRUE(agent->RegisterWithRetry().ok());
    absl::StatusOr<NodeAgent::Step> step = agent->RunOnce();
    EXPECT_TRUE(step.ok()) << step.status();
    training_.epochs_done = 0;
    client_->uploads = 0;
    client_->beats = 0;
    return agent;
  }
  // The ledger's entries after the first `before`: what the step recorded.
  std::vector<privacy::EgressEntry> RecordedSince(size_t before) {
    absl::StatusOr<std::vector<privacy::EgressEntry>> all = ledger_->List();
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok() || all->size() < before) return {};
    return std::vector<privacy::EgressEntry>(all->begin() + before, all->end());
  }
  // The heartbeats of a stopped task left: exactly their entry is recorded, with their count.
  void ExpectOnlyTheHeartbeatsRecorded(size_t before) {
    const std::vector<privacy::EgressEntry> recorded = RecordedSince(before);
    ASSERT_EQ(recorded.size(), 1u) << "only the heartbeats are recorded as leaving";
    EXPECT_EQ(recorded[0].kind, "heartbeat");
    EXPECT_EQ(recorded[0].state, "sent");
    const nlohmann::json beats = nlohmann::json::parse(recorded[0].summary_json);
    EXPECT_GE(client_->beats, 1);
    EXPECT_EQ(beats.at("beats"), client_->beats.load());
    EXPECT_FALSE(beats.at("stages").empty());
  }
  TaskLogEntry LastLogEntry() {
    absl::StatusOr<std::vector<TaskLogEntry>> recent = log_->Recent(1);
    EXPECT_TRUE(recent.ok() && recent->size() == 1u);
    return recent.ok() && !recent->empty() ? recent->front() : TaskLogEntry{};
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::unique_ptr<NodeStore> node_store_;
  std::unique_ptr<privacy::EgressLedger> ledger_;
  std::unique_ptr<TaskLog> log_;
  SlowTraining training_;
  std::unique_ptr<TaskGate> gate_;
  std::unique_ptr<aggregator::InProcessFederationClient> site_;
  std::unique_ptr<AbortedStudyClient> client_;
};

TEST_F(AgentStopTest, ATaskTheAggregatorNoLongerCountsStopsAndSendsNothing) {
  std::unique_ptr<NodeAgent> agent_ptr = AgentBeforeTraining({});
  NodeAgent& agent = *agent_ptr;
  SlowTraining& training = training_;
  AbortedStudyClient& client = *client_;
  privacy::EgressLedger& ledger = *ledger_;
  TaskLog& log = *log_;
  const size_t ledgered_before = ledger.List()->size();
  client.aborted = true;

  absl::StatusOr<NodeAgent::Step> step =
      agent.RunOnce();  // the TRAIN task, whose study the coordinator "aborted"
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskStopped);
  EXPECT_LT(training.epochs_done, 1000) << "training ran to the end";
  EXPECT_EQ(client.uploads, 0) << "neither a result nor a failure leaves";
  ExpectOnlyTheHeartbeatsRecorded(ledgered_before);
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

// systemctl stop (SIGTERM) while a task trains: after AgentOptions::stop_grace the task stops at
// its next check, nothing leaves for it, and Run ends cleanly, instead of training on until
// systemd kills the node.
TEST_F(AgentStopTest, ATaskRunningWhenTheNodeStopsEndsAfterTheGraceAndSendsNothing) {
  AgentOptions options;
  options.stop_grace = absl::ZeroDuration();
  std::unique_ptr<NodeAgent> agent = AgentBeforeTraining(options);
  const size_t ledgered_before = ledger_->List()->size();
  std::thread stopper([&] {
    for (int i = 0; i < 2000 && training_.epochs_done < 2; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    agent->Cancel();  // what node_main's SIGTERM handler does
  });
  absl::StatusOr<NodeAgent::Step> step = agent->RunOnce();
  stopper.join();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskStopped);
  EXPECT_GE(training_.epochs_done, 2);
  EXPECT_LT(training_.epochs_done, 1000) << "training ran to the end";
  EXPECT_EQ(client_->uploads, 0);
  ExpectOnlyTheHeartbeatsRecorded(ledgered_before);
  const TaskLogEntry entry = LastLogEntry();
  EXPECT_EQ(entry.state, "stopped");
  EXPECT_NE(entry.detail.find("the node is stopping"), std::string::npos) << entry.detail;
  EXPECT_TRUE(agent->Run().ok());  // cancelled: returns at once, cleanly
}

// A task that ends within the grace is finished and sent: a short task is not lost to a stop.
TEST_F(AgentStopTest, ATaskEndingWithinTheGraceIsSent) {
  AgentOptions options;
  options.stop_grace = absl::Hours(1);
  std::unique_ptr<NodeAgent> agent = AgentBeforeTraining(options);
  training_.epochs = 20;  // some 0.4 s
  std::thread stopper([&] {
    for (int i = 0; i < 2000 && training_.epochs_done < 2; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    agent->Cancel();
  });
  absl::StatusOr<NodeAgent::Step> step = agent->RunOnce();
  stopper.join();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kRanTask);
  EXPECT_EQ(training_.epochs_done, 20);
  EXPECT_EQ(client_->uploads, 1);
}

}  // namespace
}  // namespace scancov::node
