// What the agent tests share (node/agent_test.cc, node/agent_egress_test.cc): an in-process
// aggregator with one study, a node store with its egress ledger and task log, plug-ins that
// stand in for a study kind, and a client that counts the heartbeats that leave.
#ifndef SCANCOV_NODE_AGENT_TEST_FIXTURE_H_
#define SCANCOV_NODE_AGENT_TEST_FIXTURE_H_

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
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

namespace scancov::node::agent_testing {

using aggregator::Caller;
using protocol::TensorSet;

inline const Caller kCoordinator{Caller::Role::kCoordinator, "alice"};

// Adds `delta` to every weight; INIT returns zeros.
class FakeRunner : public TaskPlugin {
 public:
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    TaskDeclaration d;
    d.releases_weights = task.kind() != v1::TASK_KIND_EVALUATE;
    return d;
  }
  explicit FakeRunner(float delta, uint64_t samples) : delta_(delta), samples_(samples) {}
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    ++runs_;
    if (fail_) return failure_;
    if (throw_) {  // as nlohmann::json::value does for a field of another type
      const std::string name = nlohmann::json{{"name", 42}}.value("name", std::string());
      return absl::InvalidArgumentError("not reached: " + name);
    }
    TaskOutcome out;
    std::vector<float> w = {0, 0};
    if (global != nullptr) {
      std::vector<double> g = protocol::ToDoubles(global->tensors()[0]);
      w = {static_cast<float>(g[0] + delta_), static_cast<float>(g[1] + delta_)};
    }
    if (task.kind() != v1::TASK_KIND_EVALUATE) {
      TensorSet set;
      EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {2}, w)).ok());
      out.weights = std::move(set);
    }
    out.num_samples = task.kind() == v1::TASK_KIND_INIT_MODEL ? 0 : samples_;
    out.metrics["loss"] = 1.0 / (1 + task.round());
    return out;
  }
  int runs_ = 0;
  bool fail_ = false;
  bool throw_ = false;
  absl::Status failure_ = absl::InternalError("disk full");

 private:
  float delta_;
  uint64_t samples_;
};

// The gate owns its plug-ins; the tests keep theirs to change their behaviour between steps.
class Forward : public TaskPlugin {
 public:
  explicit Forward(TaskPlugin* inner) : inner_(inner) {}
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    return inner_->Declare(task);
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const TensorSet* global) override {
    return inner_->Run(task, global);
  }

 private:
  TaskPlugin* inner_;
};

// Counts the heartbeats that leave and keeps their distinct stage texts, in the order first sent;
// the aggregator asks for a beat every second (its default is 15 s).
class BeatCountingClient : public ForwardingFederationClient {
 public:
  using ForwardingFederationClient::ForwardingFederationClient;
  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& r) override {
    absl::StatusOr<v1::RegisterResponse> answer = inner()->Register(r);
    if (answer.ok()) answer->set_heartbeat_s(1);
    return answer;
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& r) override {
    absl::MutexLock lock(&mu_);
    ++beats_;
    bytes_ += r.ByteSizeLong();
    if (std::find(stages_.begin(), stages_.end(), r.stage()) == stages_.end()) {
      stages_.push_back(r.stage());
    }
    return inner()->Heartbeat(r);
  }
  int beats() {
    absl::MutexLock lock(&mu_);
    return beats_;
  }
  uint64_t bytes() {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }
  std::vector<std::string> stages() {
    absl::MutexLock lock(&mu_);
    return stages_;
  }

 private:
  absl::Mutex mu_;
  int beats_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> stages_ ABSL_GUARDED_BY(mu_);
};

class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ = testing_sites::InMemoryFederation(clock_);
    absl::StatusOr<std::unique_ptr<NodeStore>> node_store = NodeStore::InMemory();
    ASSERT_TRUE(node_store.ok()) << node_store.status();
    store_ = std::move(node_store).value();
    ledger_ = std::make_unique<privacy::EgressLedger>(store_->db());
    log_ = std::make_unique<TaskLog>(*store_);
  }

  void EnrollAndCreate(const std::vector<std::string>& sites, uint32_t rounds) {
    for (const std::string& s : sites) {
      v1::EnrollSiteRequest req;
      req.set_site_id(s);
      ASSERT_TRUE(federation_->EnrollSite(kCoordinator, req).ok());
    }
    v1::CreateStudyRequest req;
    req.mutable_spec()->set_name("study");
    req.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
    for (const std::string& s : sites) req.mutable_spec()->add_sites(s);
    req.mutable_spec()->set_rounds(rounds);
    req.mutable_spec()->mutable_plan()->set_model("toy");
    req.mutable_spec()->mutable_plan()->set_local_epochs(1);
    req.mutable_spec()->mutable_plan()->set_learning_rate(0.1);
    ASSERT_TRUE(federation_->CreateStudy(kCoordinator, req).ok());
  }

  // A gate in front of `runner` for the study's kind (tabular_training), recording in `ledger`.
  TaskGate* Gate(TaskPlugin* runner, privacy::EgressLedger* ledger) {
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::make_unique<Forward>(runner);
    GateOptions options;
    options.clock = &clock_;
    options.destination = "in-process";
    gates_.push_back(std::make_unique<TaskGate>(options, std::move(plugins), ledger));
    return gates_.back().get();
  }

  AgentOptions Options() {
    AgentOptions o;
    o.clock = &clock_;
    o.destination = "in-process";
    o.exit_when_idle = true;
    return o;
  }

  // The ledger's entries of one kind, oldest first.
  std::vector<privacy::EgressEntry> Ledgered(const std::string& kind) {
    absl::StatusOr<std::vector<privacy::EgressEntry>> all = ledger_->List();
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<privacy::EgressEntry> out;
    for (privacy::EgressEntry& e : *all) {
      if (e.kind == kind) out.push_back(std::move(e));
    }
    return out;
  }

  std::string KeeperDir() {
    const std::string dir = ::testing::TempDir() + "kept_" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return dir;
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<privacy::EgressLedger> ledger_;
  std::unique_ptr<TaskLog> log_;
  std::vector<std::unique_ptr<TaskGate>> gates_;
};

}  // namespace scancov::node::agent_testing

#endif  // SCANCOV_NODE_AGENT_TEST_FIXTURE_H_
