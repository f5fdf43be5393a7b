// The attack suite of issue 12, over real gRPC with mutual TLS on 127.0.0.1: a curious
// coordinator runs each attack as it would (choosing a study's settings, repeating a study with
// a small change) against nodes assembled as scancov-node assembles them (the gate, the cohort
// guard, the egress ledger). Each attack is refused or yields nothing new, with the reason as a
// code in the node's ledger; the same studies with honest settings still work.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "aggregator/coordinator/coordinator_client.h"
#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/approval_commands.h"
#include "node/approvals.h"
#include "node/cohort_guard.h"
#include "node/egress_check.h"
#include "node/grpc_federation_client.h"
#include "node/store/node_store.h"
#include "node/tasks/registry.h"
#include "node/tasks/task_host.h"
#include "privacy/egress_ledger.h"
#include "sites/pki/certificate_authority.h"
#include "tests/test_federation.h"
#include "tests/test_pki.h"
#ifdef SCANCOV_ATTACK_WITH_TORCH
#include "tests/severity_phantoms.h"
#endif

namespace scancov {
namespace {

using aggregator::AggregatorServer;
using aggregator::CoordinatorClient;
using json = nlohmann::json;
using protocol::TlsFiles;

// A site's admission rows: severe ~ logistic(age, spo2, crp). `missing_crp` patients (the
// first ones) have no CRP.
class SiteRows : public node::DatasetSource {
 public:
  SiteRows(int n, uint64_t seed, int missing_crp) {
    Random rng(seed), days(seed + 1000);  // days apart: the rows stay those of `seed`
    for (int i = 0; i < n; ++i) {
      const double age = rng.Normal(62, 14), spo2 = std::min(100.0, rng.Normal(93, 4));
      const double crp = std::exp(rng.Normal(4, 0.8));
      const double logit = -1 + 0.04 * (age - 62) - 0.25 * (spo2 - 93) + 0.6 * (std::log(crp) - 4);
      keys_.push_back(ToHex(Sha256Digest(std::to_string(seed) + "/" + std::to_string(i))));
      values_.push_back({{"age", age}, {"spo2", spo2}, {"crp", i < missing_crp ? NAN : crp}});
      y_.push_back(rng.Uniform() < 1 / (1 + std::exp(-logit)) ? 1 : 0);
      // Severity as the time-to-event outcome: the day of the event or of censoring, 1 to 30.
      values_.back()["time_to_event_days"] = 1 + std::floor(days.Uniform() * 30);
      values_.back()["event"] = y_.back();
    }
  }
  absl::StatusOr<node::TabularRows> Load(const std::vector<std::string>& variables,
                                         const std::string& outcome) override {
    if (outcome != "severe") return absl::NotFoundError("unknown outcome");
    node::TabularRows rows;
    rows.columns = variables;
    rows.keys = keys_;
    rows.y = y_;
    for (const auto& v : values_) {
      for (const std::string& name : variables) {
        auto it = v.find(name);
        if (it == v.end()) return absl::NotFoundError("unknown variable " + name);
        rows.x.push_back(it->second);
      }
    }
    return rows;
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::map<std::string, double>> values_;
  std::vector<double> y_;
};

// One hospital's node as scancov-node assembles it, kept across studies.
struct Site {
  std::string id;
  std::unique_ptr<SiteRows> rows;
  std::unique_ptr<node::NodeStore> store;
  std::unique_ptr<privacy::EgressLedger> ledger;
  std::unique_ptr<node::CohortGuard> guard;
  std::unique_ptr<node::TaskHost> host;
  node::NodeResources resources;  // as the host was made from
#ifdef SCANCOV_ATTACK_WITH_TORCH
  std::unique_ptr<testing_sites::PhantomPatients> scans;
#endif
  TlsFiles tls;
};

class DisclosureAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_.Init("attack_");
    dir_ = pki_.dir();
    auto store = aggregator::AggregatorStore::Open(dir_ + "/aggregator.db");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.studies = &aggregator::AllStudyLogics();
    options.wait = absl::Milliseconds(100);
    auto server =
        AggregatorServer::Start("127.0.0.1:0", Issue(sites::Role::kAggregator, "aggregator"),
                                testing_sites::SpooledFederation(std::move(*store), options, dir_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    target_ = "127.0.0.1:" + std::to_string(server_->port());
    auto coordinator =
        CoordinatorClient::Create(target_, Issue(sites::Role::kCoordinator, "mallory"));
    ASSERT_TRUE(coordinator.ok());
    coordinator_ = std::move(*coordinator);
    // kb: 120 patients, one without CRP; igr: 100 patients, all complete.
    for (const auto& [id, n, missing] :
         std::vector<std::tuple<std::string, int, int>>{{"kb", 120, 1}, {"igr", 100, 0}}) {
      ASSERT_TRUE(coordinator_->EnrollSite(id, "").ok());
      auto site = std::make_unique<Site>();
      site->id = id;
      site->rows = std::make_unique<SiteRows>(n, id == "kb" ? 11 : 12, missing);
      auto opened = node::NodeStore::Open(dir_ + "/" + id + ".db");
      ASSERT_TRUE(opened.ok()) << opened.status();
      site->store = std::move(*opened);
      site->ledger = std::make_unique<privacy::EgressLedger>(site->store->db());
      site->guard = std::make_unique<node::CohortGuard>(site->store.get());
      node::NodeResources resources;
      resources.context.site_id = id;
      resources.context.tabular = site->rows.get();
      resources.context.split_key = id == "kb" ? 0x6b62 : 0x696772;  // the sites' own
      resources.context.store = site->store.get();
      resources.ledger = site->ledger.get();
      resources.cohorts = site->guard.get();
      resources.destination = target_;
#ifdef SCANCOV_ATTACK_WITH_TORCH
      resources.context.device = "cpu";
      // 40 CT phantoms a site (their own keys), for the AI-severity attack.
      site->scans = std::make_unique<testing_sites::PhantomPatients>(id == "kb" ? 5 : 6, 40);
      resources.context.scans = site->scans.get();
      site->host = std::make_unique<node::TaskHost>(
          resources, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks,
                                                                  &node::MakeTorchTasks});
#else
      site->host = std::make_unique<node::TaskHost>(
          resources, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks});
#endif
      site->resources = resources;
      site->tls = Issue(sites::Role::kSite, id);
      sites_.push_back(std::move(site));
    }
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  TlsFiles Issue(sites::Role role, const std::string& id) { return pki_.Issue(role, id); }

  // A logistic regression over `features`, at both sites, the study's other settings in `extra`.
  v1::StudyStatus RunLogistic(const std::string& name, const json& features, json extra = {}) {
    json spec = {{"analysis", "logistic_regression"},
                 {"outcome", "severe"},
                 {"features", features},
                 {"terciles", false}};
    for (const auto& [k, v] : extra.items()) spec[k] = v;
    v1::StudySpec s;
    s.set_name(name);
    s.set_kind(v1::STUDY_KIND_ANALYSIS);
    s.add_sites("kb");
    s.add_sites("igr");
    s.set_round_timeout_s(60);
    s.set_spec_json(spec.dump());
    auto created = coordinator_->CreateStudy(s);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    RunNodes();
    auto status = coordinator_->GetStudyStatus(name);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : v1::StudyStatus();
  }

  // Runs every site's node until no running study includes it.
  void RunNodes() {
    std::vector<std::thread> threads;
    for (auto& site : sites_) {
      threads.emplace_back([this, s = site.get()] {
        auto client = node::GrpcFederationClient::Create(target_, s->tls);
        ASSERT_TRUE(client.ok()) << client.status();
        node::AgentOptions options;
        options.exit_when_idle = true;
        options.initial_backoff = absl::Milliseconds(50);
        options.destination = target_;
        node::NodeAgent agent(client->get(), &s->host->gate(), nullptr, options);
        EXPECT_TRUE(agent.Run().ok()) << s->id;
      });
    }
    for (std::thread& t : threads) t.join();
  }

  // The results and failures that left `site` for the tasks of `study`, as its ledger recorded
  // them (not the tasks' heartbeats, which `ledger --check` reads below).
  std::vector<privacy::EgressEntry> Sent(const std::string& site, const std::string& study) {
    std::vector<privacy::EgressEntry> out;
    for (auto& s : sites_) {
      if (s->id != site) continue;
      auto entries = s->ledger->List();
      EXPECT_TRUE(entries.ok());
      for (const privacy::EgressEntry& e : *entries) {
        if (e.kind == "heartbeat") continue;
        if (e.task_id.rfind(study + "/", 0) == 0) out.push_back(e);
      }
    }
    return out;
  }

  testing_sites::TestPki pki_;
  std::string dir_;
  std::unique_ptr<AggregatorServer> server_;
  std::string target_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  std::vector<std::unique_ptr<Site>> sites_;
};

// Attack 6 (no consent): a study kb's steward has not approved runs nothing at kb, not even a
// read of its rows; the coordinator sees kb's decision as pending, then the steward's denial
// with its reason, and the study fails without any kb result.
TEST_F(DisclosureAttackTest, AStudyTheSiteHasNotApprovedRunsNothingThere) {
  Site& kb = *sites_[0];
  node::ApprovalBook book(kb.store.get());
  node::NodeResources resources = kb.resources;
  resources.approvals = &book;  // no pre-approval rule: the steward decides
  kb.host = std::make_unique<node::TaskHost>(
      resources, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks});
  v1::StudySpec s;
  s.set_name("unasked");
  s.set_kind(v1::STUDY_KIND_ANALYSIS);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_spec_json(json{{"analysis", "logistic_regression"},
                       {"outcome", "severe"},
                       {"features", json::array({"age"})}}
                      .dump());
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  std::vector<std::unique_ptr<node::GrpcFederationClient>> clients;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (auto& site : sites_) {
    auto client = node::GrpcFederationClient::Create(target_, site->tls);
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(std::move(*client));
    node::AgentOptions options;
    options.destination = target_;
    agents.push_back(std::make_unique<node::NodeAgent>(clients.back().get(), &site->host->gate(),
                                                       nullptr, options));
  }
  const auto steps = [&](int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& agent : agents) ASSERT_TRUE(agent->RunOnce().ok());
    }
  };
  steps(4);
  auto status = coordinator_->GetStudyStatus("unasked");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_RUNNING);
  bool pending = false;
  for (const v1::SiteDecision& d : status->decisions()) {
    pending |= d.site_id() == "kb" && d.decision().state() == v1::DECISION_STATE_PENDING;
  }
  EXPECT_TRUE(pending) << status->DebugString();
  EXPECT_TRUE(Sent("kb", "unasked").empty());  // nothing left kb
  EXPECT_FALSE(Sent("igr", "unasked").empty());
  std::ostringstream out;
  ASSERT_TRUE(node::DecideRequest(book, "unasked", "", false, "no ethics approval", 0, out).ok());
  steps(3);
  status = coordinator_->GetStudyStatus("unasked");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("kb: denied by the site: no ethics approval"), std::string::npos)
      << status->message();
  EXPECT_TRUE(Sent("kb", "unasked").empty());
}

// Attack 1 (differencing): the same regression with and without a variable that one kb patient
// lacks. At beta = 0 the two studies' gradients differ by that patient's x and y. kb refuses the
// second study with a code; igr, whose cohorts are the same, answers both.
TEST_F(DisclosureAttackTest, DifferencingTwoStudiesOverAVariableOnePatientLacks) {
  const v1::StudyStatus first = RunLogistic("age-spo2", json::array({"age", "spo2"}));
  ASSERT_EQ(first.state(), v1::STUDY_STATE_DONE) << first.message();
  const v1::StudyStatus second = RunLogistic("age-spo2-crp", json::array({"age", "spo2", "crp"}));
  EXPECT_EQ(second.state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(second.message().find("kb: cohort_difference min=10"), std::string::npos)
      << second.message();
  const std::vector<privacy::EgressEntry> kb = Sent("kb", "age-spo2-crp");
  ASSERT_EQ(kb.size(), 1u);  // the refusal, and nothing else
  EXPECT_EQ(kb[0].kind, "failure");
  EXPECT_EQ(kb[0].summary_json, R"({"failure":"cohort_difference min=10"})");
  EXPECT_EQ(kb[0].payload_sha256, "");  // no tensors
  // Honest: a regression on the same patients as the first study still runs.
  const v1::StudyStatus honest = RunLogistic("spo2-age", json::array({"spo2", "age"}));
  EXPECT_EQ(honest.state(), v1::STUDY_STATE_DONE) << honest.message();
}

// Attack 1 (the split): holdout sets nested for a seed the coordinator chooses. The site splits
// with its own key; two seeds give the same part, so the second study learns nothing new, and a
// fraction off the list is refused before any site is asked.
TEST_F(DisclosureAttackTest, TheCoordinatorCannotChooseTheSplit) {
  const json f = json::array({"age", "spo2"});
  const v1::StudyStatus a = RunLogistic(
      "seed-1", f, {{"split", "holdout"}, {"split_seed", 1}, {"holdout_fraction", 0.25}});
  const v1::StudyStatus b = RunLogistic(
      "seed-2", f, {{"split", "holdout"}, {"split_seed", 2}, {"holdout_fraction", 0.25}});
  ASSERT_EQ(a.state(), v1::STUDY_STATE_DONE) << a.message();
  ASSERT_EQ(b.state(), v1::STUDY_STATE_DONE) << b.message();
  ASSERT_FALSE(a.rounds().empty());
  ASSERT_FALSE(b.rounds().empty());
  const json ra = json::parse(a.rounds(0).result_json());
  const json rb = json::parse(b.rounds(0).result_json());
  EXPECT_EQ(ra.at("pooled_summary"), rb.at("pooled_summary"));  // the same patients
  v1::StudySpec off;
  off.set_name("fraction-20");
  off.set_kind(v1::STUDY_KIND_ANALYSIS);
  off.add_sites("kb");
  off.set_spec_json(json{
      {"analysis", "logistic_regression"},
      {"outcome", "severe"},
      {"features", f},
      {"split", "holdout"},
      {"holdout_fraction",
       0.2}}.dump());
  const auto refused = coordinator_->CreateStudy(off);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  // A neighbouring fraction on the list would move a few patients: the cohort guard refuses it
  // where it does (fewer than 10 patients apart), and it never leaves silently.
  const v1::StudyStatus near =
      RunLogistic("fraction-30", f, {{"split", "holdout"}, {"holdout_fraction", 0.3}});
  for (const std::string site : {"kb", "igr"}) {
    const std::vector<privacy::EgressEntry> sent = Sent(site, "fraction-30");
    ASSERT_FALSE(sent.empty()) << site;
    if (sent[0].kind == "failure") {
      EXPECT_EQ(sent[0].summary_json, R"({"failure":"cohort_difference min=10"})") << site;
    }
  }
}

// The site's failures reach the coordinator as codes, never as text that could carry a value.
TEST_F(DisclosureAttackTest, AFailureCarriesACodeNotText) {
  const v1::StudyStatus s = RunLogistic("unknown-variable", json::array({"age", "hba1c"}));
  EXPECT_EQ(s.state(), v1::STUDY_STATE_FAILED);
  EXPECT_EQ(s.message().find("hba1c"), std::string::npos) << s.message();
  for (const std::string site : {"kb", "igr"}) {
    for (const privacy::EgressEntry& e : Sent(site, "unknown-variable")) {
      EXPECT_EQ(e.summary_json.find("hba1c"), std::string::npos) << e.summary_json;
    }
  }
}

// Attack 3 (confusion counts at the coordinator's model): a "model" that puts only kb's oldest
// patient above its high-risk threshold would make the high-risk cell that patient's outcome.
// kb withholds the confusion counts (below_min_cell) and still releases what passes; every
// count either site sent, in every study of this test, is 0 or at least the minimum
// (scancov-node ledger --check).
TEST_F(DisclosureAttackTest, AModelThatIsolatesOnePatientGetsNoConfusionCounts) {
  absl::StatusOr<node::TabularRows> rows = sites_[0]->rows->Load({"age"}, "severe");
  ASSERT_TRUE(rows.ok());
  std::vector<double> ages = rows->x;
  std::sort(ages.rbegin(), ages.rend());
  const double cut = (ages[0] + ages[1]) / 2;  // between the oldest and the next
  const double slope = 40 / (ages[0] - ages[1]);
  json model = {{"name", "oldest"},
                {"kind", "logistic"},
                {"features", json::array({"age"})},
                {"coefficients", json::array({-slope * cut, slope})},
                {"thresholds", json::array({0.01, 0.5})}};
  v1::StudySpec s;
  s.set_name("isolate-oldest");
  s.set_kind(v1::STUDY_KIND_ANALYSIS);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_round_timeout_s(60);
  s.set_spec_json(json{
      {"analysis", "model_evaluation"}, {"outcome", "severe"}, {"models", json::array({model})}}
                      .dump());
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("isolate-oldest");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  const json result = json::parse(status->rounds().rbegin()->result_json());
  const json& kb = result.at("models").at(0).at("sites").at("kb");
  EXPECT_FALSE(kb.contains("high_risk")) << kb.dump();
  EXPECT_EQ(kb.at("withheld").at("high_risk"), "below_min_cell") << kb.dump();
  for (auto& site : sites_) {
    auto entries = site->ledger->List();
    ASSERT_TRUE(entries.ok());
    const node::EgressCheck check = node::CheckEgress(*entries, 10);
    EXPECT_TRUE(check.findings.empty()) << site->id << ": " << node::EgressCheckText(check, 10);
    EXPECT_GT(check.counts_checked, 0) << site->id;
  }
}

// Attack 4 (Kaplan-Meier at 1-day resolution): at about 4 patients a day, a daily table's cells
// would give single patients' event days. Each site coarsens its time bins until every cell is
// 0 or at least the minimum, or withholds the group; what left both sites passes the check.
TEST_F(DisclosureAttackTest, SurvivalTablesAreCoarsenedUntilEveryCellPasses) {
  json model = {{"name", "age"},
                {"kind", "logistic"},
                {"features", json::array({"age"})},
                {"coefficients", json::array({-3.1, 0.05})},
                {"thresholds", json::array({0.3, 0.6})}};
  v1::StudySpec s;
  s.set_name("daily-survival");
  s.set_kind(v1::STUDY_KIND_ANALYSIS);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_round_timeout_s(60);
  s.set_spec_json(json{{"analysis", "model_evaluation"},
                       {"outcome", "severe"},
                       {"survival", {{"time", "time_to_event_days"}, {"event", "event"}}},
                       {"models", json::array({model})}}
                      .dump());
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("daily-survival");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  const json result = json::parse(status->rounds().rbegin()->result_json());
  int groups = 0;
  for (const auto& [site, answer] : result.at("models").at(0).at("sites").items()) {
    for (const json& g : answer.value("groups", json::array())) {
      ++groups;
      if (g.at("status") == "ok") {
        EXPECT_GT(g.at("bin_width").get<double>(), 1) << site << ": " << g.dump();
      } else {
        EXPECT_EQ(g.at("status"), "withheld") << site << ": " << g.dump();
      }
    }
  }
  EXPECT_GT(groups, 0);
  for (auto& site : sites_) {
    auto entries = site->ledger->List();
    ASSERT_TRUE(entries.ok());
    const node::EgressCheck check = node::CheckEgress(*entries, 10);
    EXPECT_TRUE(check.findings.empty()) << site->id << ": " << node::EgressCheckText(check, 10);
  }
}

#ifdef SCANCOV_ATTACK_WITH_TORCH
// Attack 2 (small validation sets): a training study whose validation part, at a fraction of
// 0.1, holds about a dozen patients and a few events at each site. No validation metric leaves
// from fewer than the minimum count of patients, events and non-events; the model still trains
// and every count that left passes the check.
TEST_F(DisclosureAttackTest, SmallValidationSetsReleaseNoValidationMetric) {
  v1::StudySpec s;
  s.set_name("small-validation");
  s.set_kind(v1::STUDY_KIND_TRAINING);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_rounds(1);
  s.set_round_timeout_s(120);
  s.mutable_plan()->set_model("severity_mlp");
  s.mutable_plan()->set_local_epochs(1);
  s.mutable_plan()->set_batch_size(32);
  s.mutable_plan()->set_learning_rate(0.01);
  s.mutable_plan()->set_seed(3);
  s.set_spec_json(R"({"features": [{"name": "age", "center": 62, "scale": 14},
      {"name": "spo2", "center": 93, "scale": 4},
      {"name": "crp", "transform": "log", "center": 4, "scale": 0.8}],
      "outcome": "severe", "validation_fraction": 0.1,
      "model_config": {"hidden": [4], "dropout": 0.0}})");
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("small-validation");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->state(), v1::STUDY_STATE_DONE) << status->message();
  int withheld = 0;
  for (auto& site : sites_) {
    for (const privacy::EgressEntry& e : Sent(site->id, "small-validation")) {
      const json metrics = json::parse(e.summary_json).value("metrics", json::object());
      if (metrics.contains("global.val_auc")) {
        EXPECT_GE(metrics.at("global.n_val").get<double>(), 10)
            << site->id << ": " << e.summary_json;
      }
      withheld += metrics.contains("local.n_val_withheld");
    }
    auto entries = site->ledger->List();
    ASSERT_TRUE(entries.ok());
    const node::EgressCheck check = node::CheckEgress(*entries, 10);
    EXPECT_TRUE(check.findings.empty()) << site->id << ": " << node::EgressCheckText(check, 10);
  }
  EXPECT_GT(withheld, 0);  // the attack's small parts were met, and withheld
}

// Attack 5 (outer products from few patients): an AI-severity study whose 8-dimensional
// embeddings would be summed as 8 x 8 outer products over about 32 training scans a site (with
// enough events and non-events). Each site refuses the PCA round (8 x 10 = 80 patients needed)
// with a code; no sum of outer products leaves, and the study fails saying so.
TEST_F(DisclosureAttackTest, OuterProductsFromTooFewPatientsAreRefused) {
  v1::StudySpec s;
  s.set_name("pca-few");
  s.set_kind(v1::STUDY_KIND_TRAINING);
  s.add_sites("kb");
  s.add_sites("igr");
  s.set_rounds(1);
  s.set_round_timeout_s(120);
  s.mutable_plan()->set_model("slice_encoder");
  s.mutable_plan()->set_local_epochs(1);
  s.mutable_plan()->set_batch_size(16);
  s.mutable_plan()->set_learning_rate(1e-3);
  s.mutable_plan()->set_seed(3);
  s.set_spec_json(R"({"task": "ai_severity", "outcome": "severe", "pca_components": 4,
      "l2": 1.0, "validation_fraction": 0.2,
      "encoder": {"window": "single", "slice_size": 32, "embedding_dim": 8}})");
  ASSERT_TRUE(coordinator_->CreateStudy(s).ok());
  RunNodes();
  auto status = coordinator_->GetStudyStatus("pca-few");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state(), v1::STUDY_STATE_FAILED);
  EXPECT_NE(status->message().find("outer_product_too_few min=80"), std::string::npos)
      << status->message();
  for (auto& site : sites_) {
    for (const privacy::EgressEntry& e : Sent(site->id, "pca-few")) {
      EXPECT_EQ(e.summary_json.find("\"pca\""), std::string::npos)
          << site->id << ": " << e.summary_json;
      EXPECT_EQ(e.tensors_json.find("pca"), std::string::npos)
          << site->id << ": " << e.tensors_json;
    }
  }
}
#endif

}  // namespace
}  // namespace scancov
