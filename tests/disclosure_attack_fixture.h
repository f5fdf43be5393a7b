// The fixture of issue 12's attack suite (tests/disclosure_attack_test.cc and
// tests/disclosure_metrics_attack_test.cc): an aggregator over real gRPC with mutual TLS on
// 127.0.0.1, a coordinator, and sites assembled as scancov-node assembles them (the gate, the
// cohort guard, the egress ledger), each with its synthetic admission rows.
#ifndef SCANCOV_TESTS_DISCLOSURE_ATTACK_FIXTURE_H_
#define SCANCOV_TESTS_DISCLOSURE_ATTACK_FIXTURE_H_

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

namespace scancov::testing_attack {

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

}  // namespace scancov::testing_attack

#endif  // SCANCOV_TESTS_DISCLOSURE_ATTACK_FIXTURE_H_
