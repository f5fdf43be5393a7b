// The federated association study end to end, in one process: the synthetic KB and IGR
// hospitals are generated, exported and imported into their own node stores, the aggregator
// runs an ANALYSIS study through two node agents, and the combined table must recover the
// ground-truth model's associated variables (the seed's significant set) and none of its null
// variables.
#include <SQLiteCpp/SQLiteCpp.h>

#include <set>

#include "aggregator/association_table.h"
#include "aggregator/federation.h"
#include "aggregator/in_process_client.h"
#include "gtest/gtest.h"
#include "node/agent.h"
#include "node/analysis_runner.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical_source.h"
#include "privacy/pseudonymizer.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/cohort/ground_truth.h"

namespace scancov {
namespace {

using aggregator::Caller;

struct Site {
  std::string id;
  std::unique_ptr<SQLite::Database> db;
};

Site MakeSite(const std::string& id, uint64_t seed, int scale) {
  Site site{id, std::make_unique<SQLite::Database>(":memory:", SQLite::OPEN_READWRITE |
                                                                   SQLite::OPEN_CREATE)};
  EXPECT_TRUE(node::CreateClinicalSchema(*site.db).ok());
  auto profile = sites::NamedSiteProfile(id);
  EXPECT_TRUE(profile.ok());
  profile->patients *= scale;
  const sites::SyntheticSite cohort = sites::GenerateSite(*profile, seed);
  const auto pseudonymizer = privacy::Pseudonymizer::FromSecret(std::string(32, id[0]));
  auto report = node::ImportClinicalCsvText(*site.db, pseudonymizer, id + ".csv",
                                            sites::AdmissionCsv(cohort));
  EXPECT_TRUE(report.ok()) << report.status();
  return site;
}

class AnalysisStudyTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(1); }

  // `scale` multiplies the seed's cohort sizes (KB 800, IGR 140).
  void Start(int scale) {
    sites_.clear();
    auto store = aggregator::AggregatorStore::Open(":memory:");
    ASSERT_TRUE(store.ok());
    aggregator::FederationOptions options;
    options.clock = &clock_;
    federation_ = std::make_unique<aggregator::Federation>(std::move(*store), options);
    sites_.push_back(MakeSite("kb", 2021, scale));
    sites_.push_back(MakeSite("igr", 2022, scale));
    for (const Site& s : sites_) {
      v1::EnrollSiteRequest req;
      req.set_site_id(s.id);
      ASSERT_TRUE(federation_->EnrollSite(coordinator_, req).ok());
    }
  }

  v1::StudyStatus RunStudy(const std::string& spec_json) {
    v1::CreateStudyRequest req;
    req.mutable_spec()->set_name("table1");
    req.mutable_spec()->set_kind(v1::STUDY_KIND_ANALYSIS);
    for (const Site& s : sites_) req.mutable_spec()->add_sites(s.id);
    req.mutable_spec()->set_spec_json(spec_json);
    auto created = federation_->CreateStudy(coordinator_, req);
    EXPECT_TRUE(created.ok()) << created.status();
    // Each node takes one step in turn, as concurrent nodes would, until the study ends.
    std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients;
    std::vector<std::unique_ptr<node::ClinicalDatasetSource>> sources;
    std::vector<std::unique_ptr<node::AnalysisTaskRunner>> runners;
    std::vector<std::unique_ptr<node::NodeAgent>> agents;
    for (Site& s : sites_) {
      clients.push_back(std::make_unique<aggregator::InProcessFederationClient>(
          federation_.get(), Caller{Caller::Role::kSite, s.id}));
      sources.push_back(std::make_unique<node::ClinicalDatasetSource>(s.db.get()));
      runners.push_back(
          std::make_unique<node::AnalysisTaskRunner>(sources.back().get(), privacy::ReleasePolicy{}));
      node::AgentOptions options;
      options.clock = &clock_;
      agents.push_back(std::make_unique<node::NodeAgent>(clients.back().get(), runners.back().get(),
                                                         nullptr, nullptr, options));
    }
    for (int step = 0; step < 10; ++step) {
      for (auto& agent : agents) EXPECT_TRUE(agent->RunOnce().ok());
    }
    auto status = federation_->GetStudyStatus(coordinator_, "table1");
    EXPECT_TRUE(status.ok());
    return *status;
  }

  FakeClock clock_;
  const Caller coordinator_{Caller::Role::kCoordinator, "alice"};
  std::unique_ptr<aggregator::Federation> federation_;
  std::vector<Site> sites_;
};

std::map<std::string, aggregator::AssociationRow> Table1(const v1::StudyStatus& status) {
  EXPECT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  auto table = aggregator::AssociationTableFromJson(status.rounds(0).result_json());
  EXPECT_TRUE(table.ok()) << table.status();
  std::map<std::string, aggregator::AssociationRow> rows;
  if (!table.ok()) return rows;
  EXPECT_GE(table->tests, 58);  // the seed's 58 variables (categorical ones as several terms)
  for (const auto& row : table->rows) rows[row.term] = row;
  return rows;
}

constexpr char kTable1Spec[] =
    R"({"analysis": "univariate_association", "outcome": "severe",
        "combiner": "stouffer", "weighting": "sqrt_n", "correction": "bonferroni"})";

// At the seed's sizes (KB 800, IGR 140) the seed's weakest findings (sex, neutrophils,
// peripheral topography: Stouffer p ~1e-4 against a Bonferroni threshold of ~8e-4) are found
// only with some luck, as they were in the seed. Everything the seed found strongly must be
// found, every seed effect must point the seed's way, and no null variable may come out.
TEST_F(AnalysisStudyTest, AtTheSeedsSizesFindsTheStrongEffectsAndNoNullVariable) {
  auto rows = Table1(RunStudy(kTable1Spec));
  for (const sites::SeedOddsRatio& seed : sites::SeedSeverityOddsRatios()) {
    if (!rows.count(seed.variable)) continue;  // categorical: reported per level
    const aggregator::AssociationRow& row = rows.at(seed.variable);
    EXPECT_EQ(row.fe_or > 1, seed.kb > 1) << seed.variable << ": direction";
    if (seed.p_stouffer < 1e-6) EXPECT_TRUE(row.significant) << seed.variable;
  }
  for (const std::string& v : sites::VariablesWith(sites::Association::kNull)) {
    EXPECT_FALSE(rows.count(v) && rows.at(v).significant) << v << " is a null variable";
  }
}

// With four times the seed's patients the federated Table 1 recovers the ground-truth model's
// associated variables (the seed's significant set) exactly, and none of its null variables.
TEST_F(AnalysisStudyTest, WithMorePatientsRecoversTheSeedsSignificantSetExactly) {
  Start(4);
  auto rows = Table1(RunStudy(kTable1Spec));
  std::set<std::string> significant;
  for (const auto& [term, row] : rows) {
    if (row.significant) significant.insert(row.variable);
  }
  for (const std::string& v : sites::VariablesWith(sites::Association::kSignificant)) {
    EXPECT_TRUE(significant.count(v)) << v << " should be significant";
  }
  for (const std::string& v : sites::VariablesWith(sites::Association::kNull)) {
    EXPECT_FALSE(significant.count(v)) << v << " is a null variable";
  }
}

TEST_F(AnalysisStudyTest, SiteWithTooFewEventsReportsTheTermRefused) {
  const v1::StudyStatus status = RunStudy(
      R"({"analysis": "univariate_association", "outcome": "death", "variables": ["age", "asthma"],
          "min_cell_count": 25})");
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE);
  auto table = aggregator::AssociationTableFromJson(status.rounds(0).result_json());
  ASSERT_TRUE(table.ok());
  bool refused_at_igr = false;
  for (const auto& row : table->rows) {
    refused_at_igr |= row.sites.at("igr").status == "refused";
  }
  EXPECT_TRUE(refused_at_igr);  // IGR's 140 patients: fewer than 25 deaths or rare asthma
}

}  // namespace
}  // namespace scancov
