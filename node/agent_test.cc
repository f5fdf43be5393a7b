#include "node/agent.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "node/agent_test_fixture.h"
#include "node/result_keeper.h"

namespace scancov::node {
namespace {

using namespace agent_testing;  // NOLINT: the shared fixture's names, in a test file

class AgentTest : public AgentFixture {};

// Fails the first `failures` calls of each kind with UNAVAILABLE; for uploads, the failure
// happens after the aggregator accepted the result (a lost response).
class FlakyClient : public ForwardingFederationClient {
 public:
  FlakyClient(protocol::FederationClient* inner, int failures)
      : ForwardingFederationClient(inner), left_(failures) {}
  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& r) override {
    if (register_left_-- > 0) return absl::UnavailableError("connection refused");
    return inner()->Register(r);
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& h,
                                                  const TensorSet* w) override {
    auto response = inner()->UploadResult(h, w);
    if (left_-- > 0) return absl::UnavailableError("connection reset after send");
    return response;
  }
  int register_left_ = 2;

 private:
  int left_;
};

// Loses the first `drops` uploads before they reach the aggregator (a dropped connection), or
// refuses every upload for good with `refuse_`.
class DroppingClient : public ForwardingFederationClient {
 public:
  DroppingClient(protocol::FederationClient* inner, int drops)
      : ForwardingFederationClient(inner), drops_(drops) {}
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& h,
                                                  const TensorSet* w) override {
    ++uploads_;
    if (refuse_) return absl::PermissionDeniedError("not this site's task");
    if (drops_-- > 0) return absl::UnavailableError("connection reset");
    ++delivered_;
    return inner()->UploadResult(h, w);
  }
  int uploads_ = 0;
  int delivered_ = 0;
  bool refuse_ = false;

 private:
  int drops_;
};

TEST_F(AgentTest, ThreeAgentsRunAStudyAndLedgerEveryUpload) {
  EnrollAndCreate({"kb", "igr", "hegp"}, 2);
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<FakeRunner>> runners;
  std::vector<std::unique_ptr<NodeAgent>> agents;
  const std::vector<std::string> sites = {"kb", "igr", "hegp"};
  for (size_t i = 0; i < sites.size(); ++i) {
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        federation_.get(), Caller{Caller::Role::kSite, sites[i]}));
    runners.push_back(std::make_unique<FakeRunner>(static_cast<float>(i + 1), 100 * (i + 1)));
    agents.push_back(std::make_unique<NodeAgent>(
        clients[i].get(), Gate(runners[i].get(), ledger_.get()), log_.get(), Options()));
    ASSERT_TRUE(agents[i]->RegisterWithRetry().ok());
  }
  for (int step = 0; step < 50; ++step) {
    for (auto& agent : agents) ASSERT_TRUE(agent->RunOnce().ok());
  }
  auto status = federation_->GetStudyStatus(kCoordinator, "study");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_DONE);
  int total = 0;
  for (auto& agent : agents) total += agent->tasks_completed();
  EXPECT_EQ(total, 1 + 3 + 3 + 3);  // init, two training rounds, evaluation
  const std::vector<privacy::EgressEntry> results = Ledgered("result");
  ASSERT_EQ(results.size(), 10u);
  for (const auto& e : results) {
    EXPECT_EQ(e.state, "sent") << e.task_id;
    EXPECT_NE(e.summary_json.find("\"loss\""), std::string::npos);
  }
  // And what else left: each site's registration, each task's heartbeats (one entry a task).
  EXPECT_EQ(Ledgered("register").size(), 3u);
  const std::vector<privacy::EgressEntry> beats = Ledgered("heartbeat");
  ASSERT_EQ(beats.size(), 10u);
  for (const auto& e : beats) {
    EXPECT_EQ(e.state, "sent") << e.task_id;
    EXPECT_GE(nlohmann::json::parse(e.summary_json).at("beats").get<int>(), 1) << e.task_id;
  }
  // delta weighted by samples: (100*1 + 200*2 + 300*3)/600 = 2.333.. per round
  auto c2 = federation_->GetCheckpoint(kCoordinator, "study", "");
  ASSERT_TRUE(c2.ok());
  EXPECT_NEAR(protocol::ToDoubles(c2->tensors()[0])[0], 2 * 1400.0 / 600.0, 1e-5);
}

TEST_F(AgentTest, RetriesTransientFailuresAndLostUploadResponsesAreDuplicates) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  FlakyClient flaky(&inner, /*failures=*/1);
  FakeRunner runner(1, 50);
  NodeAgent agent(&flaky, Gate(&runner, ledger_.get()), log_.get(), Options());
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_GT(clock_.TotalSlept(), absl::ZeroDuration());
  auto status = federation_->GetStudyStatus(kCoordinator, "study");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_DONE);
  const std::vector<privacy::EgressEntry> results = Ledgered("result");
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.front().state, "duplicate");  // accepted the first time, response lost
  // The registration, tried three times (two refused connections), is one entry with the
  // request's fields and the bytes of every attempt.
  const std::vector<privacy::EgressEntry> registered = Ledgered("register");
  ASSERT_EQ(registered.size(), 1u);
  EXPECT_EQ(registered[0].state, "sent");
  EXPECT_EQ(registered[0].task_id, "");
  v1::RegisterRequest request;
  request.set_protocol_version(v1::PROTOCOL_VERSION_2);
  request.set_node_version(Version());
  request.set_device("cpu");
  EXPECT_EQ(registered[0].payload_bytes, 3 * request.ByteSizeLong());
  EXPECT_EQ(nlohmann::json::parse(registered[0].summary_json),
            (nlohmann::json{{"protocol_version", "PROTOCOL_VERSION_2"},
                            {"node_version", Version()},
                            {"device", "cpu"}}));
  EXPECT_EQ(registered[0].detail,
            absl::StrCat("registered as site 'kb', aggregator ", Version(), " (3 attempt(s))"));
}

// The upload of a trained result keeps failing (attempts run out): the aggregator offers the
// task again, and the agent sends the result it kept instead of training again. The ledger
// holds one release, marked sent once it finally went through.
TEST_F(AgentTest, AKeptResultIsSentAgainInsteadOfRetraining) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  AgentOptions options = Options();
  options.attempts_per_call = 3;
  DroppingClient client(&inner, /*drops=*/4);
  FakeRunner runner(1, 50);
  ResultKeeper keeper(KeeperDir());
  options.keeper = &keeper;
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), options);
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  auto lost = agent.RunOnce();  // the init task: run, kept, three uploads lost
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
  EXPECT_EQ(runner.runs_, 1);
  auto entries = Ledgered("result");
  ASSERT_EQ(entries.size(), 1u);
  const std::string task_id = entries.front().task_id;
  ASSERT_TRUE(keeper.Find(task_id)->has_value());
  auto resent = agent.RunOnce();  // offered again: one more loss, then delivered
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_EQ(*resent, NodeAgent::Step::kRanTask);
  EXPECT_EQ(runner.runs_, 1);  // not trained again
  EXPECT_EQ(client.uploads_, 5);
  EXPECT_EQ(client.delivered_, 1);
  entries = Ledgered("result");
  ASSERT_EQ(entries.size(), 1u);  // the same release, not a second one
  EXPECT_EQ(entries.front().state, "sent");
  EXPECT_FALSE(keeper.Find(task_id)->has_value());  // acknowledged: forgotten
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(federation_->GetStudyStatus(kCoordinator, "study")->state(), v1::STUDY_STATE_DONE);
  EXPECT_EQ(runner.runs_, agent.tasks_completed());  // every task ran exactly once
  EXPECT_EQ(Ledgered("result").size(), static_cast<size_t>(runner.runs_));
}

// The node is killed after training, before its upload got through: the restarted node finds
// the result it kept and sends it; nothing runs again.
TEST_F(AgentTest, ARestartedNodeSendsTheResultItKept) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  AgentOptions options = Options();
  options.attempts_per_call = 2;
  std::string task_id;
  {
    DroppingClient down(&inner, /*drops=*/1000);
    FakeRunner runner(1, 50);
    ResultKeeper keeper(KeeperDir());
    options.keeper = &keeper;
    NodeAgent agent(&down, Gate(&runner, ledger_.get()), log_.get(), options);
    ASSERT_TRUE(agent.RegisterWithRetry().ok());
    EXPECT_FALSE(agent.RunOnce().ok());
    EXPECT_EQ(runner.runs_, 1);
    task_id = Ledgered("result").front().task_id;
  }
  FakeRunner runner(1, 50);
  ResultKeeper keeper(KeeperDir());
  options.keeper = &keeper;
  NodeAgent agent(&inner, Gate(&runner, ledger_.get()), log_.get(), options);
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  auto step = agent.RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kRanTask);
  EXPECT_EQ(runner.runs_, 0);
  const std::vector<privacy::EgressEntry> entries = Ledgered("result");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.front().task_id, task_id);
  EXPECT_EQ(entries.front().state, "sent");
  EXPECT_FALSE(keeper.Find(task_id)->has_value());
}

// A result refused for good is not kept: there is nothing to send again.
TEST_F(AgentTest, ARefusedResultIsNotKept) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  DroppingClient client(&inner, 0);
  client.refuse_ = true;
  FakeRunner runner(1, 50);
  ResultKeeper keeper(KeeperDir());
  AgentOptions options = Options();
  options.keeper = &keeper;
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), options);
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  auto step = agent.RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskFailed);
  EXPECT_EQ(client.uploads_, 1);  // not retried
  const std::vector<privacy::EgressEntry> entries = Ledgered("result");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.front().state, "failed");
  EXPECT_FALSE(keeper.Find(entries.front().task_id)->has_value());
}

TEST_F(AgentTest, UnenrolledSiteStopsWithTheRefusal) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "zz"});
  FakeRunner runner(1, 50);
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  absl::Status s = agent.Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("not enrolled"), std::string::npos);
}

TEST_F(AgentTest, ARegisterAnswerShowingTheClockOffIsWarnedAbout) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "kb"});
  FakeRunner runner(1, 50);
  AgentOptions options = Options();
  NodeAgent in_step(&client, Gate(&runner, ledger_.get()), log_.get(), options);
  ASSERT_TRUE(in_step.RegisterWithRetry().ok());
  EXPECT_FALSE(in_step.clock_skew_warned());
  FakeClock behind(clock_.Now() - absl::Minutes(10));
  options.clock = &behind;
  NodeAgent off(&client, Gate(&runner, ledger_.get()), log_.get(), options);
  ASSERT_TRUE(off.RegisterWithRetry().ok());
  EXPECT_TRUE(off.clock_skew_warned());
}

TEST_F(AgentTest, LocalFailureIsLoggedAndTheAgentCarriesOn) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient inner(federation_.get(), {Caller::Role::kSite, "kb"});
  BeatCountingClient client(&inner);
  FakeRunner runner(1, 50);
  runner.fail_ = true;
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  auto step = agent.RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(*step, NodeAgent::Step::kTaskFailed);
  auto recent = log_->Recent(5);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->at(0).state, "failed");
  EXPECT_EQ(recent->at(0).detail, "disk full");
  // Neither a result nor a failure left the site; its heartbeats did, and are recorded.
  EXPECT_TRUE(Ledgered("result").empty());
  EXPECT_TRUE(Ledgered("failure").empty());
  const std::vector<privacy::EgressEntry> beats = Ledgered("heartbeat");
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(beats[0].summary_json).at("beats"), client.beats());
  EXPECT_EQ(beats[0].payload_bytes, client.bytes());
  EXPECT_GE(client.beats(), 1);
  runner.fail_ = false;
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(federation_->GetStudyStatus(kCoordinator, "study")->state(), v1::STUDY_STATE_DONE);
}

// A failure that a retry would meet again is reported (and ledgered: it leaves the site); the
// aggregator then fails the study that needed the site, with its reason.
TEST_F(AgentTest, DeterministicFailureIsReportedAndEndsTheStudy) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "kb"});
  FakeRunner runner(1, 50);
  runner.fail_ = true;
  runner.failure_ = absl::InvalidArgumentError("unknown feature well_aerated_lung_percent");
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  ASSERT_TRUE(agent.RegisterWithRetry().ok());
  auto step = agent.RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(*step, NodeAgent::Step::kTaskFailed);
  auto sent = ledger_->List();
  ASSERT_TRUE(sent.ok());
  // The registration, the failed task's heartbeats (recorded before its failure), the failure.
  ASSERT_EQ(sent->size(), 3u);
  EXPECT_EQ(sent->at(0).kind, "register");
  EXPECT_EQ(sent->at(1).kind, "heartbeat");
  EXPECT_EQ(sent->at(1).state, "sent");
  EXPECT_EQ(sent->at(1).task_id, sent->at(2).task_id);
  sent->erase(sent->begin(), sent->begin() + 2);
  EXPECT_EQ(sent->at(0).kind, "failure");
  // Only the code leaves: the message (which could name a value) stays in the task log.
  EXPECT_NE(sent->at(0).summary_json.find("invalid_spec"), std::string::npos);
  EXPECT_EQ(sent->at(0).summary_json.find("unknown feature"), std::string::npos);
  auto status = federation_->GetStudyStatus(kCoordinator, "study");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("kb: invalid_spec"), std::string::npos) << status->message();
  EXPECT_EQ(status->message().find("unknown feature"), std::string::npos) << status->message();
  EXPECT_TRUE(IsDeterministicFailure(absl::FailedPreconditionError("x")));
  EXPECT_FALSE(IsDeterministicFailure(absl::InternalError("disk full")));
  EXPECT_FALSE(IsDeterministicFailure(absl::UnavailableError("x")));
}

// A runner that throws (a spec field of an unexpected type) does not take the node down: the
// task fails, is reported with a failure code, and the agent goes on.
TEST_F(AgentTest, RunnerExceptionBecomesAReportedFailure) {
  EnrollAndCreate({"kb"}, 1);
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "kb"});
  FakeRunner runner(1, 50);
  runner.throw_ = true;
  NodeAgent agent(&client, Gate(&runner, ledger_.get()), log_.get(), Options());
  auto step = agent.RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskFailed);
  auto status = federation_->GetStudyStatus(kCoordinator, "study");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("kb: invalid_spec"), std::string::npos) << status->message();
  // The exception's text (a library's words about the spec) stays at the site.
  EXPECT_EQ(status->message().find("type must be string"), std::string::npos) << status->message();
}

TEST_F(AgentTest, ExitsWhenNoStudyIncludesTheSite) {
  EnrollAndCreate({"kb", "igr"}, 1);
  v1::EnrollSiteRequest req;
  req.set_site_id("lonely");
  ASSERT_TRUE(federation_->EnrollSite(kCoordinator, req).ok());
  aggregator::InProcessFederationClient client(federation_.get(), {Caller::Role::kSite, "lonely"});
  FakeRunner runner(1, 50);
  NodeAgent agent(&client, Gate(&runner, nullptr), nullptr, Options());
  EXPECT_TRUE(agent.Run().ok());
  EXPECT_EQ(agent.tasks_completed(), 0);
}

}  // namespace
}  // namespace scancov::node
