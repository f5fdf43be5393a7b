// Issue 12's attack suite, continued (the fixture: tests/disclosure_attack_fixture.h): the
// counts and metrics an evaluation or training study releases (confusion counts, survival
// tables, validation metrics, outer products) against a coordinator who picks the model or the
// split to isolate patients.
#include "tests/disclosure_attack_fixture.h"

namespace scancov {
namespace {

using testing_attack::DisclosureAttackTest;
using testing_attack::Site;
using json = nlohmann::json;

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
