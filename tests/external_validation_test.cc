// The seed's external-validation protocol on the synthetic hospitals, through the federation:
// a model is trained at KB on its training part only (an exact logistic regression restricted
// to one site and one split), then KB's held-out part and all of IGR score their own patients
// with it and with the published models and scores; each site returns aggregates only.
#include <cmath>
#include <nlohmann/json.hpp>

#include "models/scores/published_models.h"
#include "models/stats/auc.h"
#include "node/tabular_features.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_evaluation.h"
#include "sites/cohort/variables.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using json = nlohmann::json;

constexpr char kFeatures[] = R"([{"name": "spo2", "transform": "neglog_101_minus"},
  "disease_extent", "age", "sex", {"name": "platelets", "transform": "log"},
  {"name": "urea", "transform": "log"}])";

class ExternalValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ = testing_sites::InMemoryFederation(clock_);
    kb_.push_back(testing_sites::MakeSite("kb", 31, 800));
    all_.push_back(testing_sites::MakeSite("kb", 31, 800));
    all_.push_back(testing_sites::MakeSite("igr", 32, 140));
  }

  FakeClock clock_;
  std::unique_ptr<aggregator::Federation> federation_;
  std::vector<testing_sites::Site> kb_, all_;
};

TEST_F(ExternalValidationTest, TrainAtKbValidateOnHeldOutKbAndIgr) {
  wire::LogisticSpec train_spec;
  train_spec.outcome = "severe";
  absl::StatusOr<std::vector<wire::FeatureSpec>> features =
      wire::ParseFeatures(json::parse(kFeatures), "features");
  ASSERT_TRUE(features.ok()) << features.status();
  train_spec.features = *features;
  train_spec.split.split = "train";
  train_spec.split.seed = 7;
  train_spec.split.holdout_fraction = 0.19;
  const v1::StudyStatus trained = testing_sites::RunAnalysisStudy(
      *federation_, clock_, kb_, "train-at-kb", wire::ToJson(train_spec));
  ASSERT_EQ(trained.state(), v1::STUDY_STATE_DONE) << trained.message();
  const absl::StatusOr<wire::LogisticRoundResult> trained_result =
      wire::ParseLogisticRoundResult(trained.rounds().rbegin()->result_json());
  ASSERT_TRUE(trained_result.ok() && trained_result->fit) << trained_result.status();
  const wire::LogisticModelFit& fit = *trained_result->fit;
  const std::vector<double> beta = fit.Beta();
  {
    // KB's training part only (complete cases), counted independently.
    const std::vector<std::string> names = wire::FeatureNames(train_spec.features);
    node::ClinicalDatasetSource source(kb_[0].db.get());
    auto rows = source.Load(names, "severe");
    ASSERT_TRUE(rows.ok());
    int64_t expected = 0;
    for (size_t i = 0; i < rows->keys.size(); ++i) {
      if (node::InHoldout(rows->keys[i], testing_sites::SplitKeyOf("kb"), 0.19)) continue;
      bool complete = true;
      for (size_t j = 0; j < names.size(); ++j) {
        complete &= std::isfinite(
            node::TransformFeature(train_spec.features[j], rows->x[i * names.size() + j]));
      }
      expected += complete;
    }
    EXPECT_EQ(fit.n, expected);
    EXPECT_LT(expected, 800 * 0.81 + 30);
  }

  const auto model = [](const std::string& name, const std::string& kind, double low, double high) {
    wire::EvaluatedModel m;
    m.name = name;
    m.kind = kind;
    m.low = low;
    m.high = high;
    return m;
  };
  wire::EvaluationSpec eval_spec;
  eval_spec.outcome = "severe";
  eval_spec.site_splits = {{"kb", "holdout"}, {"igr", "all"}};
  eval_spec.split_seed = 7;
  eval_spec.holdout_fraction = 0.19;
  eval_spec.survival_time = "time_to_event_days";
  eval_spec.survival_event = "event";
  eval_spec.min_cell_count = 5;
  wire::EvaluatedModel scancov = model("ScanCov", "published", 0.144, 0.369);
  scancov.model = "scancov_released";
  wire::EvaluatedModel refit = model("trained at KB", "logistic", 0.144, 0.369);
  refit.features = json::parse(kFeatures);
  refit.coefficients = beta;
  eval_spec.models = {scancov, refit, model("CURB-65", "curb65", 2, 3),
                      model("CALL", "call", 7, 10), model("Yan", "yan", 0.5, 0.5)};
  const v1::StudyStatus evaluated = testing_sites::RunAnalysisStudy(
      *federation_, clock_, all_, "validate", wire::ToJson(eval_spec));
  ASSERT_EQ(evaluated.state(), v1::STUDY_STATE_DONE) << evaluated.message();
  const json result = json::parse(evaluated.rounds().rbegin()->result_json());
  std::map<std::string, json> models;
  for (const json& m : result.at("models")) models[m.at("name")] = m;
  ASSERT_EQ(models.size(), 5u);

  // KB scores only its held-out part: about 19% of 800 patients.
  const json& scancov_kb = models.at("ScanCov").at("sites").at("kb");
  ASSERT_EQ(scancov_kb.at("status"), "ok") << scancov_kb.dump();
  EXPECT_NEAR(scancov_kb.at("n").get<double>() + scancov_kb.at("n_not_computable").get<double>(),
              800 * 0.19, 30);
  // The trained and the published models discriminate at the external site.
  for (const char* name : {"ScanCov", "trained at KB"}) {
    const json& igr = models.at(name).at("sites").at("igr");
    ASSERT_EQ(igr.at("status"), "ok") << name;
    EXPECT_GT(igr.at("auc").at("auc").get<double>(), 0.7) << name;
    EXPECT_LT(igr.at("auc").at("ci_lower").get<double>(), igr.at("auc").at("auc").get<double>());
  }
  // Pooled confusion counts are the sum of those the sites released (a site withholds them when
  // a cell is below its minimum count: the coordinator's threshold must not isolate patients).
  for (const auto& [name, model] : models) {
    const json& pooled = model.at("pooled").at("high_risk");
    int64_t tp = 0, sites = 0;
    for (const auto& [site, s] : model.at("sites").items()) {
      if (!s.contains("high_risk")) {
        EXPECT_EQ(s.at("withheld").at("high_risk"), "below_min_cell") << name << " at " << site;
        continue;
      }
      for (const char* cell : {"tp", "fp", "tn", "fn"}) {
        const int64_t c = s.at("high_risk").at(cell).get<int64_t>();
        EXPECT_TRUE(c == 0 || c >= 5) << name << " at " << site;
      }
      tp += s.at("high_risk").at("tp").get<int64_t>();
      ++sites;
    }
    EXPECT_EQ(pooled.at("tp").get<int64_t>(), tp) << name;
    EXPECT_EQ(pooled.at("sites").get<int64_t>(), sites) << name;
  }
  // Risk groups separate survival (severity is the time-to-event outcome here). Every
  // Kaplan-Meier count a site sends is 0 or at least its minimum (5): a risk group with 1 to 4
  // events or censored patients is withheld at any time bin, and is left out of its site's
  // stratum. With about 150 patients per site, ScanCov's low- and high-risk groups are withheld at
  // both sites (the pooled result says why); CURB-65's groups are released at both.
  const json& lr = models.at("CURB-65").at("pooled").at("log_rank");
  EXPECT_LT(lr.at("p").get<double>(), 0.01);  // 0.0024 with the synthetic sites' own splits
  EXPECT_EQ(lr.at("sites"), 2);
  for (const auto& [name, model] : models) {
    const json& pooled = model.at("pooled");
    EXPECT_TRUE(pooled.contains("log_rank") || pooled.contains("survival_error")) << name;
    for (const auto& [site, s] : model.at("sites").items()) {
      for (const json& g : s.value("groups", json::array())) {
        if (g.at("status") != "ok") continue;
        EXPECT_GE(g.at("bin_width").get<double>(), 1) << name << " at " << site;
        for (const char* column : {"at_risk", "events", "censored"}) {
          for (const json& c : g.at("counts").at(column)) {
            EXPECT_TRUE(c == 0 || c >= 5) << name << " at " << site << ": " << g.dump();
          }
        }
      }
    }
  }

  // IGR's AUC for the published ScanCov, recomputed independently from IGR's own rows.
  node::ClinicalDatasetSource source(all_[1].db.get());
  std::vector<std::string> names;
  for (const auto& v : sites::AdmissionVariables()) names.push_back(v.name);
  auto rows = source.Load(names, "severe");
  ASSERT_TRUE(rows.ok());
  std::vector<double> score, y;
  for (size_t i = 0; i < rows->keys.size(); ++i) {
    scores::PatientInputs in;
    for (size_t j = 0; j < names.size(); ++j) {
      const double v = rows->x[i * names.size() + j];
      if (!std::isnan(v) && scores::FindInputSpec(names[j])) in.Set(names[j], v);
    }
    auto s = scores::EvaluateLinearModel(scores::ScanCovReleasedModel(), in);
    if (!s.ok()) continue;
    score.push_back(s->probability);
    y.push_back(rows->y[i]);
  }
  auto auc = stats::Auc(score, y);
  ASSERT_TRUE(auc.ok());
  EXPECT_NEAR(models.at("ScanCov").at("sites").at("igr").at("auc").at("auc").get<double>(), *auc,
              1e-12);
}

}  // namespace
}  // namespace scancov
