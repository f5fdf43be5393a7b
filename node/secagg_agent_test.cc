// The agent with secure aggregation: three nodes run a TRAIN task whose study asks for it,
// through their gates, against one emulated aggregator (node/secagg_test_aggregator.h).
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/dp_gate_test_util.h"
#include "node/gate.h"
#include "node/result_keeper.h"
#include "node/secagg_test_aggregator.h"
#include "node/store/node_store.h"
#include "privacy/dp/gaussian_source.h"
#include "privacy/egress_ledger.h"
#include "protocol/failure_code.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::node {
namespace {

using protocol::DType;
using protocol::TensorSet;
using testing::SecAggSiteClient;
using testing::SecAggTestAggregator;

// Adds `shift` to every weight of the global model.
class ShiftRunner : public TaskPlugin {
 public:
  explicit ShiftRunner(double shift) : shift_(shift) {}
  absl::StatusOr<TaskDeclaration> Declare(const v1::Task&) const override {
    TaskDeclaration d;
    d.releases_weights = true;
    return d;
  }
  absl::StatusOr<TaskOutcome> Run(const v1::Task&, const TensorSet* global) override {
    TaskOutcome out;
    TensorSet trained;
    for (const protocol::Tensor& t : global->tensors()) {
      std::vector<double> v = protocol::ToDoubles(t);
      for (double& x : v) x += shift_;
      EXPECT_TRUE(trained.Add(protocol::FromDoubles(t.name, t.shape, t.dtype, v)).ok());
    }
    out.weights = std::move(trained);
    out.num_samples = 40;
    out.metrics["local.train_loss"] = 0.25;
    return out;
  }

 private:
  double shift_;
};

TensorSet Global() {
  TensorSet set;
  EXPECT_TRUE(set.Add(protocol::MakeFloat32("w", {2, 2}, {0.5f, -1.0f, 0.25f, 2.0f})).ok());
  return set;
}

constexpr char kSecAggOnly[] =
    R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 16, "max_abs_value": 100}})";

v1::Task Task(const std::string& privacy_json = kSecAggOnly) {
  v1::Task task;
  task.set_task_id("t-1");
  task.set_study_id("study-9");
  task.set_round(1);
  task.set_kind(v1::TASK_KIND_TRAIN);
  task.set_study_kind("tabular_training");
  task.set_checkpoint_id("ckpt-0");
  task.set_privacy_json(privacy_json);
  return task;
}

// A node's view of the aggregator: the task, its checkpoint, and the emulated SecAgg phases.
// Records every upload; with `unreachable_uploads`, uploads never get through.
class NodeClient : public SecAggSiteClient {
 public:
  NodeClient(SecAggTestAggregator* aggregator, const std::string& site, bool unreachable_uploads)
      : SecAggSiteClient(aggregator, site), unreachable_(unreachable_uploads) {}
  absl::StatusOr<v1::PullTaskResponse> PullTask() override {
    v1::PullTaskResponse r;
    *r.mutable_task() = Task(privacy_json);
    return r;
  }
  std::string privacy_json = kSecAggOnly;  // the study's privacy options
  absl::StatusOr<TensorSet> DownloadWeights(const std::string&, const std::string&) override {
    return Global();
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& header,
                                                  const TensorSet* weights) override {
    if (weights == nullptr) {  // a failure report
      failures.push_back(header.failure());
      v1::UploadResponse accepted;
      accepted.set_accepted(true);
      return accepted;
    }
    for (const protocol::Tensor& t : weights->tensors()) dtypes.push_back(t.dtype);
    if (unreachable_) return absl::UnavailableError("connection refused");
    return SecAggSiteClient::UploadResult(header, weights);
  }
  std::vector<DType> dtypes;          // of every tensor ever uploaded
  std::vector<std::string> failures;  // failure reports sent

 private:
  bool unreachable_;
};

struct Node {
  Node(const std::string& id, const sites::CertificateAndKey& cert, const std::string& ca_pem,
       SecAggTestAggregator* aggregator, double shift, bool unreachable,
       std::shared_ptr<privacy::dp::GaussianSource> dp_noise = nullptr)
      : clock(absl::Now()), client(aggregator, id, unreachable), keeper(KeeperDir(id)) {
    std::filesystem::remove_all(KeeperDir(id));
    store = std::move(NodeStore::InMemory()).value();
    ledger = std::make_unique<privacy::EgressLedger>(store->db());
    TaskPlugins plugins;
    plugins[protocol::StudyKind::tabular_training] = std::make_unique<ShiftRunner>(shift);
    GateOptions gate_options;
    gate_options.clock = &clock;
    gate_options.dp_noise = std::move(dp_noise);
    gate = std::make_unique<TaskGate>(gate_options, std::move(plugins), ledger.get());
    AgentOptions options;
    options.clock = &clock;
    options.initial_backoff = absl::Milliseconds(10);
    options.keeper = &keeper;
    options.secagg = {id, cert.private_key_pem, ca_pem};
    agent = std::make_unique<NodeAgent>(&client, gate.get(), nullptr, options);
  }
  static std::string KeeperDir(const std::string& id) {
    return ::testing::TempDir() + "secagg_kept_" + id;
  }
  FakeClock clock;
  NodeClient client;
  ResultKeeper keeper;
  std::unique_ptr<NodeStore> store;
  std::unique_ptr<privacy::EgressLedger> ledger;
  std::unique_ptr<TaskGate> gate;
  std::unique_ptr<NodeAgent> agent;
};

// The session of study-9 round 1 for `ids`, threshold 2, four elements, with their certificates.
v1::SecAggSession SessionFor(const std::vector<std::string>& ids,
                             const sites::CertificateAndKey& ca,
                             std::map<std::string, sites::CertificateAndKey>* certs) {
  v1::SecAggSession session;
  session.set_study_id("study-9");
  session.set_round(1);
  for (const std::string& id : ids) {
    sites::IssueOptions issue;
    issue.id = id;
    (*certs)[id] = *sites::IssueCertificate(ca, issue);
    v1::SecAggParticipant* p = session.add_participants();
    p->set_site_id(id);
    p->set_certificate_pem((*certs)[id].certificate_pem);
  }
  session.set_threshold(2);
  session.set_vector_length(4);
  session.set_fractional_bits(16);
  session.set_max_abs_value(100);
  return session;
}

// One RunOnce of every node's agent, side by side (a secure round needs them all at once).
std::vector<absl::StatusOr<NodeAgent::Step>> RunOnceEach(
    const std::vector<std::unique_ptr<Node>>& nodes) {
  std::vector<absl::StatusOr<NodeAgent::Step>> steps(nodes.size(), absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] { steps[i] = nodes[i]->agent->RunOnce(); });
  }
  for (std::thread& t : threads) t.join();
  return steps;
}

TEST(SecAggAgentTest, NodesSendOnlyMaskedWeightsAndNeverKeepThem) {
  const sites::CertificateAndKey ca = *sites::CreateCertificateAuthority({"agent-consortium"});
  const std::vector<std::string> ids = {"site-a", "site-b", "site-c"};
  std::map<std::string, sites::CertificateAndKey> certs;
  // site-c's uploads never get through: it drops out after sharing its keys.
  SecAggTestAggregator aggregator(SessionFor(ids, ca, &certs), {"site-a", "site-b"});
  std::vector<std::unique_ptr<Node>> nodes;
  for (size_t i = 0; i < ids.size(); ++i) {
    nodes.push_back(std::make_unique<Node>(ids[i], certs[ids[i]], ca.certificate_pem, &aggregator,
                                           0.5 * (i + 1), ids[i] == "site-c"));
  }
  const std::vector<absl::StatusOr<NodeAgent::Step>> steps = RunOnceEach(nodes);

  for (size_t i = 0; i < ids.size(); ++i) {
    Node& node = *nodes[i];
    for (DType d : node.client.dtypes) EXPECT_EQ(d, DType::kInt64) << ids[i];
    EXPECT_FALSE(node.keeper.Find("t-1")->has_value()) << ids[i] << ": a masked result was kept";
    // The ledger says what left: the plain release withheld, the masked one sent (or failed).
    absl::StatusOr<std::vector<privacy::EgressEntry>> entries = node.ledger->List();
    ASSERT_TRUE(entries.ok() && entries->size() == 2u) << ids[i];
    EXPECT_EQ((*entries)[0].state, "withheld") << ids[i];
    EXPECT_NE((*entries)[0].tensors_json.find("float32"), std::string::npos) << ids[i];
    EXPECT_NE((*entries)[1].tensors_json.find("int64"), std::string::npos) << ids[i];
    EXPECT_EQ((*entries)[1].summary_json, (*entries)[0].summary_json) << ids[i];
    EXPECT_NE((*entries)[1].payload_sha256, (*entries)[0].payload_sha256) << ids[i];
    if (ids[i] == "site-c") {
      EXPECT_EQ(steps[i].status().code(), absl::StatusCode::kUnavailable);
      EXPECT_EQ((*entries)[1].state, "failed");
      continue;
    }
    ASSERT_TRUE(steps[i].ok()) << ids[i] << ": " << steps[i].status();
    EXPECT_EQ(*steps[i], NodeAgent::Step::kRanTask);
    EXPECT_EQ((*entries)[1].state, "sent");
    EXPECT_NE((*entries)[1].detail.find("masked under secure aggregation"), std::string::npos);
  }
  std::optional<privacy::secagg::SecAggResult> result = aggregator.result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->dropped, std::vector<std::string>{"site-c"});
  // 40 x (0.5 + 1.0) for every element: the shifts of site-a and site-b.
  for (double v : result->sum) EXPECT_NEAR(v, 60.0, 2 * std::ldexp(1.0, -16));
}

// Distributed DP end to end at the nodes: each gate clips its site's update to C = 1 (the shifts
// 0.5, 1.0 and 1.5 of four weights have norms 1, 2 and 3: each becomes 0.5 per weight) and the
// masked vector weighs it 1, not its 40 samples: the sum of site-a and site-b is 1.0 per element
// (FedAvg's vector would give 40 x (0.5 + 1.0) = 60). The noise is zero here to see the sum.
TEST(SecAggAgentTest, UnderDistributedDpTheNodesSumTheirClippedUpdatesWeightedOne) {
  const sites::CertificateAndKey ca = *sites::CreateCertificateAuthority({"agent-consortium"});
  const std::vector<std::string> ids = {"site-a", "site-b", "site-c"};
  std::map<std::string, sites::CertificateAndKey> certs;
  SecAggTestAggregator aggregator(SessionFor(ids, ca, &certs), {"site-a", "site-b"});
  std::vector<std::unique_ptr<Node>> nodes;
  for (size_t i = 0; i < ids.size(); ++i) {
    nodes.push_back(std::make_unique<Node>(ids[i], certs[ids[i]], ca.certificate_pem, &aggregator,
                                           0.5 * (i + 1), ids[i] == "site-c",
                                           std::make_shared<testing_util::ZeroNoise>()));
    nodes.back()->client.privacy_json =
        R"({"dp": {"mode": "distributed", "clip_norm": 1.0, "noise_multiplier": 1.0,
                   "delta": 1e-5},
            "secure_aggregation": {"threshold": 2, "fractional_bits": 16, "max_abs_value": 100}})";
  }
  (void)RunOnceEach(nodes);
  std::optional<privacy::secagg::SecAggResult> result = aggregator.result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->dropped, std::vector<std::string>{"site-c"});
  ASSERT_EQ(result->sum.size(), 4u);
  for (double v : result->sum) EXPECT_NEAR(v, 1.0, 2 * std::ldexp(1.0, -16) + 1e-6);
  // num_samples is still reported beside the sum; it weighs nothing.
  EXPECT_EQ(aggregator.headers()["site-a"].num_samples(), 40u);
}

// A session the node refuses (here: a threshold the study did not ask for) ends the task with a
// failure report, a code only, so that the round does not wait for the site until its deadline;
// nothing of the weights leaves.
TEST(SecAggAgentTest, ARefusedSessionIsReportedAsAFailureCode) {
  const sites::CertificateAndKey ca = *sites::CreateCertificateAuthority({"agent-consortium"});
  v1::SecAggSession session;
  session.set_study_id("study-9");
  session.set_round(1);
  sites::CertificateAndKey cert;
  for (const char* id : {"site-a", "site-b", "site-c"}) {
    sites::IssueOptions issue;
    issue.id = id;
    const sites::CertificateAndKey issued = *sites::IssueCertificate(ca, issue);
    if (std::string(id) == "site-a") cert = issued;
    v1::SecAggParticipant* p = session.add_participants();
    p->set_site_id(id);
    p->set_certificate_pem(issued.certificate_pem);
  }
  session.set_threshold(3);  // the study asked for 2
  session.set_vector_length(4);
  session.set_fractional_bits(16);
  session.set_max_abs_value(100);
  SecAggTestAggregator aggregator(session, {"site-a"});
  Node node("site-a", cert, ca.certificate_pem, &aggregator, 0.5, false);
  auto step = node.agent->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, NodeAgent::Step::kTaskFailed);
  EXPECT_TRUE(node.client.dtypes.empty()) << "no weights left";
  ASSERT_EQ(node.client.failures.size(), 1u);
  EXPECT_TRUE(protocol::IsFailureReport(node.client.failures[0])) << node.client.failures[0];
}

}  // namespace
}  // namespace scancov::node
