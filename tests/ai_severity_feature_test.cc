// The AI-severity probability as an input variable (the seed's trimodal "+ AI-severity" models):
// a finished AI-severity study leaves every scanned patient's probability in the site's own
// store, and later studies use it as "ai_severity:<study>", joined to the admission rows by
// pseudonym; nothing patient-level leaves the site.
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "node/ai_severity_scores.h"
#include "node/clinical_source.h"
#include "node/store/node_store.h"
#include "tests/severity_phantoms.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using json = nlohmann::json;

// About 37 training patients a site: enough for 8 x 8 PCA sums at a minimum count of 3 (issue 12:
// d x 3 patients).
constexpr char kStudySpec[] = R"({"task": "ai_severity", "outcome": "severe",
    "pca_components": 6, "l2": 1.0, "validation_fraction": 0.25, "min_cell_count": 3,
    "encoder": {"window": "single", "slice_size": 64, "embedding_dim": 8}})";
constexpr char kEncoder[] = R"({"window": "single", "slice_size": 64, "embedding_dim": 8})";

TEST(AiSeverityScoresTest, SavedPerStudyReplacedAsAWholeAndCheckedOnTheWayIn) {
  std::unique_ptr<node::NodeStore> owned = node::NodeStore::InMemory().value();
  node::NodeStore& store = *owned;
  // Nothing stored yet: an error that names the variable and the study.
  absl::StatusOr<std::map<std::string, double>> none = node::LoadAiSeverityScores(store, "s1");
  ASSERT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "'ai_severity:s1'"));
  EXPECT_TRUE(absl::StrContains(none.status().message(), "study 's1'"));

  ASSERT_TRUE(node::SaveAiSeverityScores(store, "s1", "d1", {{"p1", 0.25}, {"p2", 0.75}}).ok());
  ASSERT_TRUE(node::SaveAiSeverityScores(store, "s2", "d2", {{"p1", 0.5}}).ok());
  // Scoring s1 again (a retried evaluation) replaces all of s1 and nothing of s2.
  ASSERT_TRUE(node::SaveAiSeverityScores(store, "s1", "d3", {{"p3", 0.125}}).ok());
  auto s1 = node::LoadAiSeverityScores(store, "s1");
  auto s2 = node::LoadAiSeverityScores(store, "s2");
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(*s1, (std::map<std::string, double>{{"p3", 0.125}}));
  EXPECT_EQ(*s2, (std::map<std::string, double>{{"p1", 0.5}}));
  SQLite::Statement digest(store.db(),
                           "SELECT DISTINCT model_digest FROM ai_severity_scores "
                           "WHERE study_id = 's1'");
  ASSERT_TRUE(digest.executeStep());
  EXPECT_EQ(digest.getColumn(0).getString(), "d3");

  // A value that is not a probability is refused and the stored scores stay as they were.
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    absl::Status s = node::SaveAiSeverityScores(store, "s1", "d4", {{"p1", 0.5}, {"p2", bad}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "score 1 is not a probability")) << s;
  }
  EXPECT_EQ(*node::LoadAiSeverityScores(store, "s1"), *s1);
  // A write that fails half-way (a patient twice) is rolled back as a whole.
  absl::Status twice = node::SaveAiSeverityScores(store, "s1", "d5", {{"p7", 0.5}, {"p7", 0.6}});
  EXPECT_EQ(twice.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(*node::LoadAiSeverityScores(store, "s1"), *s1);
}

// Scores join the admission rows by pseudonym: patients without one are missing for the
// variable (NaN), the others carry their stored probability, and the outcome is untouched.
TEST(AiSeverityScoresTest, JoinedToTheAdmissionRowsByPseudonym) {
  testing_sites::Site site = testing_sites::MakeSite("kb", 41, 60);
  node::ClinicalDatasetSource source(site.db.get());
  auto base = source.Load({"age"}, "severe");
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_GT(base->keys.size(), 20u);
  std::vector<node::AiSeverityScore> scores;
  for (size_t i = 0; i < base->keys.size(); i += 2) {
    scores.push_back({base->keys[i], static_cast<double>(i) / 100});
  }
  ASSERT_TRUE(node::SaveAiSeverityScores(*site.db, "aisev", "d", scores).ok());
  auto rows = source.Load({"ai_severity:aisev", "age"}, "severe");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->keys, base->keys);
  EXPECT_EQ(rows->y, base->y);
  EXPECT_EQ(rows->columns, (std::vector<std::string>{"ai_severity:aisev", "age"}));
  for (size_t i = 0; i < rows->keys.size(); ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(rows->x[i * 2], static_cast<double>(i) / 100) << i;
    } else {
      EXPECT_TRUE(std::isnan(rows->x[i * 2])) << i;
    }
    const double age = base->x[i];
    if (std::isnan(age)) {
      EXPECT_TRUE(std::isnan(rows->x[i * 2 + 1]));
    } else {
      EXPECT_EQ(rows->x[i * 2 + 1], age);
    }
  }
  // The variable alone, and a study this site never scored: an error naming it.
  auto alone = source.Load({"ai_severity:aisev"}, "severe");
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(alone->keys, base->keys);
  auto unknown = source.Load({"age", "ai_severity:other"}, "severe");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "study 'other'")) << unknown.status();
}

// Two synthetic hospitals' own patients get phantom CTs whose lesion burden follows their
// recorded outcome; the AI-severity study trains at both and a third evaluates. Then every
// scanned patient at every site has the ensemble's probability in the site's store (training
// patients too), and a federated logistic regression on age + AI-severity finds the CT signal.
TEST(AiSeverityFeatureTest, StudyScoresEverySiteThenTheTrimodalModelUsesTheScores) {
  const char* names[] = {"kb", "igr", "hegp"};
  std::vector<testing_sites::Site> sites;
  std::vector<std::unique_ptr<testing_sites::PhantomPatients>> scans;
  std::vector<std::set<std::string>> scanned(3);
  for (int i = 0; i < 3; ++i) {
    sites.push_back(testing_sites::MakeSite(names[i], 51 + i, 120));
    node::ClinicalDatasetSource source(sites.back().db.get());
    auto rows = source.Load({"age"}, "severe");
    ASSERT_TRUE(rows.ok()) << rows.status();
    // The first 50 patients have a CT (the others are admission rows only), and so do 3
    // patients whose outcome is unknown: scored, never trained or validated on.
    std::vector<std::string> keys;
    std::vector<int> labels;
    for (size_t r = 0; r < rows->keys.size() && keys.size() < 50; ++r) {
      keys.push_back(rows->keys[r]);
      labels.push_back(static_cast<int>(rows->y[r]));
      scanned[i].insert(rows->keys[r]);
    }
    for (int u = 0; u < 3; ++u) {
      keys.push_back(absl::StrCat("unknown-outcome-", names[i], "-", u));
      labels.push_back(-1);
    }
    scans.push_back(std::make_unique<testing_sites::PhantomPatients>(60 + i, keys, labels, true));
  }
  const testing_sites::SeverityStudyRun run = testing_sites::RunSeverityStudy(
      kStudySpec, 2, 5, {scans[0].get(), scans[1].get(), scans[2].get()},
      {sites[0].db.get(), sites[1].db.get(), sites[2].db.get()});
  ASSERT_EQ(run.status.state(), v1::STUDY_STATE_DONE) << run.status.message();
  // The held-out site validated on its 50 patients with an outcome, not on the 3 without; each
  // site reported how many it kept, and nothing else about them.
  const v1::RoundStatus& final_round = *run.status.rounds().rbegin();
  for (const v1::SiteRoundStatus& s : final_round.sites()) {
    EXPECT_EQ(s.metrics().at("local.n_scored"), 53) << s.site_id();
    if (s.site_id() == "held") {
      EXPECT_EQ(s.metrics().at("global.n_val"), 50);
    }
  }

  // Every scan at every site is scored, with the finished model's probability recomputed here
  // from the checkpoint.
  for (int i = 0; i < 3; ++i) {
    auto stored = node::LoadAiSeverityScores(*sites[i].db, "aisev");
    ASSERT_TRUE(stored.ok()) << names[i] << ": " << stored.status();
    ASSERT_EQ(stored->size(), scans[i]->keys().size()) << names[i];
    // Each CT was read once in the whole study (all its rounds), however often the runner asked
    // for the site's patients: the node keeps slices, not volumes.
    EXPECT_EQ(scans[i]->reads(), static_cast<int>(scans[i]->keys().size())) << names[i];
    EXPECT_GE(scans[i]->loads(), i < 2 ? 4 : 1) << names[i];  // the held site: evaluation only
    const std::vector<double> expected =
        testing_sites::RecomputedProbabilities(run.checkpoint, 0, kEncoder, scans[i]->scans());
    for (size_t p = 0; p < expected.size(); ++p) {
      const std::string& key = scans[i]->keys()[p];
      ASSERT_TRUE(stored->count(key)) << names[i] << " " << p;
      EXPECT_NEAR(stored->at(key), expected[p], 1e-9) << names[i] << " " << p;
    }
  }
  // Nothing patient-level left the sites: no round, site result or message mentions a pseudonym.
  for (const auto& round : run.status.rounds()) {
    std::string text = round.result_json() + run.status.message();
    for (const auto& s : round.sites()) text += s.DebugString();
    for (const std::set<std::string>& keys : scanned) {
      for (const std::string& key : keys) ASSERT_FALSE(absl::StrContains(text, key));
    }
  }

  // The trimodal model at kb and igr: complete cases are the scanned patients with an age.
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> training;
  training.push_back(std::move(sites[0]));
  training.push_back(std::move(sites[1]));
  const json spec = {{"analysis", "logistic_regression"},
                     {"outcome", "severe"},
                     {"features", {"age", "ai_severity:aisev"}},
                     {"min_cell_count", 3}};
  const v1::StudyStatus fitted =
      testing_sites::RunAnalysisStudy(*federation, clock, training, "trimodal", spec.dump());
  ASSERT_EQ(fitted.state(), v1::STUDY_STATE_DONE) << fitted.message();
  const json fit = json::parse(fitted.rounds().rbegin()->result_json()).at("fit");
  int64_t complete = 0;
  for (testing_sites::Site& s : training) {
    node::ClinicalDatasetSource source(s.db.get());
    auto rows = source.Load({"age", "ai_severity:aisev"}, "severe");
    ASSERT_TRUE(rows.ok());
    for (size_t r = 0; r < rows->keys.size(); ++r) {
      complete += !std::isnan(rows->x[2 * r]) && !std::isnan(rows->x[2 * r + 1]);
    }
  }
  EXPECT_EQ(fit.at("n"), complete);
  EXPECT_LE(complete, 100);
  EXPECT_GE(complete, 80);
  const json& ai = fit.at("coefficients").at(2);
  ASSERT_EQ(ai.at("term"), "ai_severity:aisev");
  EXPECT_GT(ai.at("beta").get<double>(), 0);  // a higher CT probability, more severe
  EXPECT_LT(ai.at("p").get<double>(), 0.01) << fit.dump();

  // Table 1 lists it as a continuous AI-severity term.
  const json table1 = {{"analysis", "univariate_association"},
                       {"outcome", "severe"},
                       {"variables", {"ai_severity:aisev"}}};
  const v1::StudyStatus assoc =
      testing_sites::RunAnalysisStudy(*federation, clock, training, "table1", table1.dump());
  ASSERT_EQ(assoc.state(), v1::STUDY_STATE_DONE) << assoc.message();
  EXPECT_TRUE(absl::StrContains(assoc.rounds().rbegin()->result_json(), "ai_severity:aisev"));

  // A study naming AI-severity scores the sites do not hold fails with the sites' failure code
  // (the message, which names the study, stays in the sites' task logs).
  const json missing = {{"analysis", "logistic_regression"},
                        {"outcome", "severe"},
                        {"features", {"age", "ai_severity:never-run"}}};
  const v1::StudyStatus failed =
      testing_sites::RunAnalysisStudy(*federation, clock, training, "missing", missing.dump());
  EXPECT_EQ(failed.state(), v1::STUDY_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(failed.message(), ": precondition")) << failed.message();
}

}  // namespace
}  // namespace scancov
