// Everything the agent sends is in the egress ledger: a task's heartbeats as one entry, however
// the task ends, and what a node killed mid-task or mid-registration leaves there (node/agent.h,
// node/control_egress.h). The failing and stopped tasks' entries: agent_test.cc,
// agent_stop_test.cc.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/agent_test_fixture.h"

namespace scancov::node {
namespace {

using namespace agent_testing;  // NOLINT: the shared fixture's names, in a test file

class AgentEgressTest : public AgentFixture {};

// Trains for some 2.2 s in 3 epochs, reporting them: with the aggregator's shortest heartbeat
// interval (1 s), several beats leave while it runs.
class SlowRunner : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    TaskDeclaration d;
    d.releases_weights = task.kind() != v1::TASK_KIND_EVALUATE;
    return d;
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    Progress ignored;
    return RunTracked(task, global, ignored);
  }
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const TensorSet*,
                                         Progress& progress) override {
    for (int e = 0; e < 3; ++e) {
      progress.SetCount("epoch", e, 3);
      absl::SleepFor(absl::Milliseconds(730));
    }
    TaskOutcome out;
    TensorSet set;
    EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {2}, {0, 0})).ok());
    out.weights = std::move(set);
    out.num_samples = task.kind() == v1::TASK_KIND_INIT_MODEL ? 0 : 50;
    return out;
  }
};

// Every beat that left is in the ledger: one entry for the task, with the count of beats the
// aggregator received, their bytes and exactly the distinct stage texts it was sent.
TEST_F(AgentEgressTest, ATasksHeartbeatsAreOneLedgerEntryWithTheirCountAndTexts) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  BeatCountingClient client(&inner);
  SlowRunner runner;
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  absl::StatusOr<NodeAgent::Step> step = agent.RunOnce();  // the INIT task, some 2.2 s
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_EQ(*step, NodeAgent::Step::kRanTask);
  const std::vector<privacy::EgressEntry> beats = Ledgered("heartbeat");
  ASSERT_EQ(beats.size(), 1u);
  const std::vector<privacy::EgressEntry> results = Ledgered("result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(beats[0].task_id, results[0].task_id);
  EXPECT_LT(beats[0].id, results[0].id);  // recorded before the first beat left
  EXPECT_EQ(beats[0].state, "sent");
  EXPECT_EQ(beats[0].destination, "in-process");
  const nlohmann::json summary = nlohmann::json::parse(beats[0].summary_json);
  EXPECT_GE(client.beats(), 2);
  EXPECT_EQ(summary.at("beats"), client.beats());
  EXPECT_EQ(summary.at("errors"), 0);
  EXPECT_EQ(summary.at("interval_s"), 1);
  EXPECT_EQ(summary.at("bytes"), client.bytes());
  EXPECT_EQ(beats[0].payload_bytes, client.bytes());
  EXPECT_EQ(summary.at("stages").get<std::vector<std::string>>(), client.stages());
  EXPECT_EQ(beats[0].detail,
            absl::StrCat(client.beats(), " of ", client.beats(), " beats answered"));
}

// A node killed mid-task never amended its heartbeat entry (nor, killed mid-registration, its
// register entry): the next start says so.
TEST_F(AgentEgressTest, EntriesLeftPendingByAKilledNodeAreMarkedInterrupted) {
  EnrollAndCreate({"kb"}, 1);
  v1::EnrollSiteRequest req;
  req.set_site_id("lonely");
  ASSERT_TRUE(federation_->EnrollSite(kCoordinator, req).ok());
  privacy::EgressEntry left;
  left.task_id = "study/r1/lonely";
  left.kind = "heartbeat";
  left.summary_json = R"({"fields": ["task_id", "stage", "progress"], "interval_s": 30})";
  absl::StatusOr<int64_t> id = ledger_->Record(left);  // as RunTask records it, then killed
  ASSERT_TRUE(id.ok()) << id.status();
  privacy::EgressEntry unanswered;  // a registration the node did not live to see answered
  unanswered.kind = "register";
  unanswered.summary_json = R"({"node_version": "0.4.0"})";
  ASSERT_TRUE(ledger_->Record(unanswered).ok());
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "lonely"});
  FakeRunner runner(1, 50);
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  ASSERT_TRUE(agent.Run().ok());
  const std::vector<privacy::EgressEntry> beats = Ledgered("heartbeat");
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].state, "interrupted");
  EXPECT_NE(beats[0].detail.find("how many is not known"), std::string::npos) << beats[0].detail;
  const std::vector<privacy::EgressEntry> registered = Ledgered("register");
  ASSERT_EQ(registered.size(), 2u);  // the killed node's, and this start's
  EXPECT_EQ(registered[0].state, "interrupted");
  EXPECT_EQ(registered[1].state, "sent");
}

}  // namespace
}  // namespace scancov::node
