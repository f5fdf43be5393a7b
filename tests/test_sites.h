// Test helpers shared by the integration tests: synthetic hospitals imported into in-memory
// node stores, and an in-process federation whose nodes take turns.
#ifndef SCANCOV_TESTS_TEST_SITES_H_
#define SCANCOV_TESTS_TEST_SITES_H_

#include <memory>
#include <string>
#include <vector>

#include "aggregator/server/federation.h"
#include "aggregator/server/in_process_client.h"
#include "aggregator/studies/registry.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical_source.h"
#include "node/store/node_store.h"
#include "node/tasks/registry.h"
#include "node/tasks/task_host.h"
#include "privacy/pseudonymizer.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"

namespace scancov::testing_sites {

struct Site {
  std::string id;
  std::unique_ptr<node::NodeStore> db;  // the site's node store, in memory
};

// A named (kb, igr) or generic site with `patients` patients (0: the profile's default),
// generated with `seed` and imported through the node's clinical CSV import.
inline Site MakeSite(const std::string& id, uint64_t seed, int patients = 0) {
  Site site{id, node::NodeStore::InMemory().value()};
  auto profile = sites::SiteProfileFor(id, patients > 0 ? patients : 300, 0.2);
  EXPECT_TRUE(profile.ok()) << profile.status();
  if (patients > 0) profile->patients = patients;
  const sites::SyntheticSite cohort = sites::GenerateSite(*profile, seed);
  const auto pseudonymizer = privacy::Pseudonymizer::FromSecret(std::string(32, id[0]));
  auto report = node::ImportClinicalCsvText(*site.db, pseudonymizer, id + ".csv",
                                            sites::AdmissionCsv(cohort));
  EXPECT_TRUE(report.ok()) << report.status();
  return site;
}

// The split key of a site made by MakeSite (its secret's, as scancov-node derives it).
inline uint64_t SplitKeyOf(const std::string& id) {
  return privacy::Pseudonymizer::FromSecret(std::string(32, id[0])).SplitKey();
}

// A node's tasks as scancov-node assembles them (node/tasks/task_host.h), the plain kinds only,
// over `source`, under `policy`; with `cohorts`, the site's cohort guard.
inline std::unique_ptr<node::TaskHost> MakeAnalysisHost(node::DatasetSource* source,
                                                        const std::string& site_id,
                                                        privacy::ReleasePolicy policy = {},
                                                        node::CohortGuard* cohorts = nullptr) {
  node::NodeResources resources;
  resources.context.site_id = site_id;
  resources.context.policy = std::move(policy);
  resources.context.tabular = source;
  resources.context.split_key = SplitKeyOf(site_id);
  resources.cohorts = cohorts;
  return std::make_unique<node::TaskHost>(
      resources, std::initializer_list<node::TaskPluginMaker>{&node::MakePlainTasks});
}

// Enrols the sites, runs one analysis study with the nodes taking turns (as concurrent nodes
// would) until it ends, and returns its status.
// `study_sites`: the sites in the study (default: all of `sites`); every site runs a node.
inline v1::StudyStatus RunAnalysisStudy(aggregator::Federation& federation, FakeClock& clock,
                                        std::vector<Site>& sites, const std::string& name,
                                        const std::string& spec_json, int max_steps = 60,
                                        std::vector<std::string> study_sites = {}) {
  const aggregator::Caller coordinator{aggregator::Caller::Role::kCoordinator, "alice"};
  for (const Site& s : sites) {
    v1::EnrollSiteRequest req;
    req.set_site_id(s.id);
    EXPECT_TRUE(federation.EnrollSite(coordinator, req).ok());
  }
  if (study_sites.empty()) {
    for (const Site& s : sites) study_sites.push_back(s.id);
  }
  v1::CreateStudyRequest req;
  req.mutable_spec()->set_name(name);
  req.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
  for (const std::string& s : study_sites) req.mutable_spec()->add_sites(s);
  req.mutable_spec()->set_spec_json(spec_json);
  auto created = federation.CreateStudy(coordinator, req);
  EXPECT_TRUE(created.ok()) << created.status();
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
  std::vector<std::unique_ptr<node::ClinicalDatasetSource>> sources;
  std::vector<std::unique_ptr<node::TaskHost>> hosts;
  std::vector<std::unique_ptr<node::NodeAgent>> agents;
  for (Site& s : sites) {
    clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
        &federation, aggregator::Caller{aggregator::Caller::Role::kSite, s.id}));
    sources.push_back(std::make_unique<node::ClinicalDatasetSource>(s.db.get()));
    hosts.push_back(MakeAnalysisHost(sources.back().get(), s.id));
    node::AgentOptions options;
    options.clock = &clock;
    agents.push_back(std::make_unique<node::NodeAgent>(clients.back().get(), &hosts.back()->gate(),
                                                       nullptr, options));
  }
  for (int step = 0; step < max_steps; ++step) {
    for (auto& agent : agents) EXPECT_TRUE(agent->RunOnce().ok());
    auto status = federation.GetStudyStatus(coordinator, name);
    if (status.ok() && status->state() != v1::STUDY_STATE_RUNNING) return *status;
  }
  auto status = federation.GetStudyStatus(coordinator, name);
  EXPECT_TRUE(status.ok());
  return status.ok() ? *status : v1::StudyStatus();
}

// Enrols sites "a", "b" and "held" and creates the training study `name` (plan.model, `rounds`,
// `spec_json`): trained at a and b, evaluated at held, which never trains.
inline absl::Status CreateHeldOutTrainingStudy(aggregator::Federation& federation,
                                               const std::string& name,
                                               const v1::TrainingPlan& plan, uint32_t rounds,
                                               const std::string& spec_json) {
  const aggregator::Caller coordinator{aggregator::Caller::Role::kCoordinator, "alice"};
  for (const char* s : {"a", "b", "held"}) {
    v1::EnrollSiteRequest r;
    r.set_site_id(s);
    absl::StatusOr<v1::SiteInfo> enrolled = federation.EnrollSite(coordinator, r);
    if (!enrolled.ok()) return enrolled.status();
  }
  v1::CreateStudyRequest req;
  v1::StudySpec& spec = *req.mutable_spec();
  spec.set_name(name);
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  spec.add_sites("a");
  spec.add_sites("b");
  spec.add_evaluation_sites("held");
  spec.set_rounds(rounds);
  *spec.mutable_plan() = plan;
  spec.set_spec_json(spec_json);
  return federation.CreateStudy(coordinator, req).status();
}

inline std::unique_ptr<aggregator::Federation> InMemoryFederation(FakeClock& clock) {
  auto store = aggregator::AggregatorStore::Open(":memory:");
  EXPECT_TRUE(store.ok());
  aggregator::FederationOptions options;
  options.studies = &aggregator::AllStudyLogics();
  options.clock = &clock;
  return std::make_unique<aggregator::Federation>(std::move(*store), options);
}

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_TEST_SITES_H_
