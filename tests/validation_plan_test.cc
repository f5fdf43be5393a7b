// The cross-site validation plan, run in process: training studies (per site and federated,
// on training parts), then evaluation studies built from their fits, then the AUC matrix.
#include "aggregator/coordinator/validation_plan.h"

#include <nlohmann/json.hpp>

#include "aggregator/coordinator/report.h"
#include "core/file_util.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using json = nlohmann::json;

v1::StudyStatus RunStudy(aggregator::Federation& federation, FakeClock& clock,
                         std::vector<testing_sites::Site>& sites, const v1::StudySpec& spec) {
  return testing_sites::RunAnalysisStudy(
      federation, clock, sites, spec.name(), spec.spec_json(), 60,
      std::vector<std::string>(spec.sites().begin(), spec.sites().end()));
}

TEST(ValidationPlanTest, TrainsEverywhereEvaluatesOnUnseenDataAndFillsTheMatrix) {
  auto plan = aggregator::ParseValidationPlan(R"({
    "name": "val", "sites": ["kb", "igr"], "outcomes": ["severe"],
    "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "disease_extent", "age"],
    "leave_one_out": false, "min_cell_count": 5})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto training = aggregator::TrainingStudies(*plan);
  ASSERT_EQ(training.size(), 3u);  // at kb, at igr, federated
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 41, 800));
  sites.push_back(testing_sites::MakeSite("igr", 42, 300));
  std::vector<aggregator::TrainedModel> models;
  std::map<std::string, std::vector<double>> coefficients, terciles;
  for (const auto& [model, spec] : training) {
    const v1::StudyStatus st = RunStudy(*federation, clock, sites, spec);
    ASSERT_EQ(st.state(), v1::STUDY_STATE_DONE) << spec.name() << ": " << st.message();
    auto beta = aggregator::FittedCoefficients(st);
    ASSERT_TRUE(beta.ok()) << beta.status();
    EXPECT_EQ(beta->size(), 4u);
    coefficients[model.study] = *beta;
    // Each trained model's own training terciles, shown in its report.
    auto t = aggregator::FittedTerciles(st);
    ASSERT_TRUE(t.ok()) << t.status();
    terciles[model.study] = *t;
    EXPECT_NE(aggregator::LogisticFitMarkdown(st).find("own training scores"), std::string::npos)
        << aggregator::LogisticFitMarkdown(st);
    models.push_back(model);
  }
  const auto evaluation = aggregator::EvaluationStudies(*plan, models, coefficients, terciles);
  // Split maps: {kb holdout, igr all}, {kb all, igr holdout}, {both holdout}, {both all}.
  ASSERT_EQ(evaluation.size(), 4u);
  std::vector<v1::StudyStatus> evaluated;
  for (const v1::StudySpec& spec : evaluation) {
    const json s = json::parse(spec.spec_json());
    for (const json& m : s.at("models")) {
      // Trained models are classified by their own terciles; the published model by its own.
      for (const aggregator::TrainedModel& model : models) {
        if (m.at("name") != model.label) continue;
        EXPECT_EQ(m.at("thresholds"), json(terciles[model.study])) << model.label;
        EXPECT_NE(m.at("thresholds"), json({0.144, 0.369}));
      }
      if (m.at("name") == "ScanCov (published)") {
        EXPECT_EQ(m.at("thresholds"), json({0.144, 0.369}));
      }
      if (m.at("name") == "at kb") {
        EXPECT_EQ(s.at("split").at("kb"), "holdout");  // never scored on its own training rows
        EXPECT_EQ(s.at("split").at("igr"), "all");
      }
      if (m.at("name") == "federated") {
        EXPECT_EQ(s.at("split").at("igr"), "holdout");
      }
    }
    evaluated.push_back(RunStudy(*federation, clock, sites, spec));
    ASSERT_EQ(evaluated.back().state(), v1::STUDY_STATE_DONE);
  }
  const std::string md = aggregator::ValidationMatrixMarkdown(*plan, evaluated);
  for (const char* row :
       {"| at kb |", "| at igr |", "| federated |", "| ScanCov (published) |", "| CURB-65 |"}) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  EXPECT_NE(md.find(")*"), std::string::npos);  // held-out cells are marked
  // ROC figures: each evaluation study's report folder holds them, the matrix links them.
  const std::string study = evaluated.front().study_id();
  EXPECT_NE(md.find("(" + study + "/roc_pooled.svg)"), std::string::npos) << md;
  const std::string dir = ::testing::TempDir() + study;
  ASSERT_TRUE(aggregator::WriteStudyReport(evaluated.front(), dir).ok());
  absl::StatusOr<std::string> svg = ReadFileToString(dir + "/roc_pooled.svg");
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_NE(svg->find("<polyline"), std::string::npos);
}

}  // namespace
}  // namespace scancov

namespace scancov {
namespace {

// The seed's finding on the synthetic hospitals: a model with the CT report's disease extent
// (trimodal: clinical + biology + imaging) beats the clinical + biology model at the external
// site, both trained at KB on its training part.
TEST(ValidationPlanTest, TrimodalBeatsClinicalAtTheExternalSite) {
  auto plan = aggregator::ParseValidationPlan(R"({
    "name": "modal", "sites": ["kb", "igr"], "outcomes": ["severe"],
    "feature_sets": {
      "clinical": [{"name": "spo2", "transform": "neglog_101_minus"}, "age", "sex",
                   {"name": "platelets", "transform": "log"}, {"name": "urea", "transform": "log"},
                   "respiratory_rate"],
      "trimodal": [{"name": "spo2", "transform": "neglog_101_minus"}, "age", "sex",
                   {"name": "platelets", "transform": "log"}, {"name": "urea", "transform": "log"},
                   "respiratory_rate", "disease_extent", "crazy_paving"]},
    "leave_one_out": false, "federated": false, "comparators": false, "min_cell_count": 5})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 51, 800));
  sites.push_back(testing_sites::MakeSite("igr", 52, 600));  // a large external site
  std::vector<aggregator::TrainedModel> models;
  std::map<std::string, std::vector<double>> coefficients;
  for (const auto& [model, spec] : aggregator::TrainingStudies(*plan)) {
    if (model.label.find("at kb") == std::string::npos) continue;  // trained at KB only
    const v1::StudyStatus st = RunStudy(*federation, clock, sites, spec);
    ASSERT_EQ(st.state(), v1::STUDY_STATE_DONE) << st.message();
    coefficients[model.study] = *aggregator::FittedCoefficients(st);
    models.push_back(model);
  }
  std::map<std::string, double> igr_auc;
  json comparison;
  for (const v1::StudySpec& spec : aggregator::EvaluationStudies(*plan, models, coefficients)) {
    const v1::StudyStatus st = RunStudy(*federation, clock, sites, spec);
    ASSERT_EQ(st.state(), v1::STUDY_STATE_DONE);
    const json r = json::parse(st.rounds().rbegin()->result_json());
    for (const json& m : r.at("models")) {
      igr_auc[m.at("name")] = m.at("sites").at("igr").at("auc").at("auc");
    }
    if (r.at("comparisons").contains("igr") && !r.at("comparisons").at("igr").empty()) {
      comparison = r.at("comparisons").at("igr")[0];
    }
  }
  ASSERT_TRUE(igr_auc.count("clinical at kb") && igr_auc.count("trimodal at kb"));
  // Paired DeLong test at the external site, on the same patients.
  ASSERT_EQ(comparison.value("status", std::string()), "ok") << comparison.dump();
  EXPECT_EQ(comparison.at("a"), "trimodal at kb");
  // The trimodal model is ahead (here +0.022 AUC on 348 complete cases); like the seed's
  // comparisons, the paired test at one external site of this size is not significant (p 0.2).
  EXPECT_GT(comparison.at("difference").get<double>(), 0.01) << comparison.dump();
  EXPECT_GT(comparison.at("z").get<double>(), 0.0) << comparison.dump();
  std::cout << "external site (IGR) AUC: clinical+bio " << igr_auc.at("clinical at kb")
            << ", trimodal " << igr_auc.at("trimodal at kb") << "\n";
}

}  // namespace
}  // namespace scancov

namespace scancov {
namespace {

v1::StudyStatus AiSeverityStudy(v1::StudyState state, const std::string& task) {
  v1::StudyStatus st;
  st.set_study_id("sev1");
  st.set_state(state);
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->add_sites("kb");
  st.mutable_spec()->add_evaluation_sites("igr");
  st.mutable_spec()->set_spec_json(nlohmann::json{{"task", task}, {"outcome", "severe"}}.dump());
  // The final evaluation: each site done, with how many patients it scored and kept.
  v1::RoundStatus* last = st.add_rounds();
  for (const char* site : {"kb", "igr"}) {
    v1::SiteRoundStatus* s = last->add_sites();
    s->set_site_id(site);
    s->set_state("done");
    (*s->mutable_metrics())["local.n_scored"] = 12;
  }
  return st;
}

// An evaluation study's status as the nodes' aggregates give it: every model at AUC 0.80, held
// out at kb, all patients at igr.
v1::StudyStatus Evaluation(const json& models) {
  const json auc = {{"auc", 0.8}, {"ci_lower", 0.7}, {"ci_upper", 0.9}};
  const json sites = {{"kb", {{"status", "ok"}, {"auc", auc}, {"split", "holdout"}}},
                      {"igr", {{"status", "ok"}, {"auc", auc}, {"split", "all"}}}};
  v1::StudyStatus evaluation;
  evaluation.set_study_id("val-severe-eval-0");
  evaluation.mutable_spec()->set_spec_json(
      json{{"analysis", "model_evaluation"}, {"outcome", "severe"}, {"models", models}}.dump());
  json results = json::array();
  for (const json& m : models) results.push_back({{"name", m.at("name")}, {"sites", sites}});
  evaluation.add_rounds()->set_result_json(json{{"outcome", "severe"}, {"models", results}}.dump());
  return evaluation;
}

// A plan whose features use an AI-severity study's scores: the study must be a finished
// AI-severity study whose final evaluation kept scores at every site of the plan, and the matrix
// marks the cells at the sites it trained on (kb), for the models with that input only.
TEST(ValidationPlanTest, AiSeverityInputIsCheckedAndItsTrainingSitesMarked) {
  auto plan = aggregator::ParseValidationPlan(R"({
    "name": "val", "sites": ["kb", "igr"], "outcomes": ["severe"],
    "feature_sets": {"clinical": ["age"],
                     "clinical_ai": ["age", {"name": "ai_severity:sev1"}, "ai_severity:sev1"]}})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(aggregator::AiSeverityStudies(*plan), std::vector<std::string>{"sev1"});
  auto malformed = aggregator::ParseValidationPlan(R"({
    "name": "val", "sites": ["kb"], "outcomes": ["severe"], "features": ["ai_severity:Sev1"]})");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("'ai_severity:Sev1' is not ai_severity:<study id>"),
            std::string::npos)
      << malformed.status();

  const auto refused = [&](const v1::StudyStatus& st) {
    return aggregator::UseAiSeverityStudy(st, &*plan);
  };
  absl::Status running = refused(AiSeverityStudy(v1::STUDY_STATE_RUNNING, "ai_severity"));
  EXPECT_EQ(running.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(running.message().find("'ai_severity:sev1'"), std::string::npos) << running;
  EXPECT_NE(running.message().find("STUDY_STATE_RUNNING"), std::string::npos) << running;
  v1::StudyStatus failed_study = AiSeverityStudy(v1::STUDY_STATE_FAILED, "ai_severity");
  failed_study.set_message("round 3: too few sites");
  absl::Status failed = refused(failed_study);
  EXPECT_NE(failed.message().find("failed (round 3: too few sites)"), std::string::npos) << failed;
  EXPECT_EQ(refused(AiSeverityStudy(v1::STUDY_STATE_DONE, "segmentation")).code(),
            absl::StatusCode::kInvalidArgument);
  v1::StudyStatus without_igr = AiSeverityStudy(v1::STUDY_STATE_DONE, "ai_severity");
  without_igr.mutable_spec()->clear_evaluation_sites();
  absl::Status missing = refused(without_igr);
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.message().find("site 'igr' was not in study 'sev1'"), std::string::npos)
      << missing;
  // igr was in the study but its final evaluation expired, or it scored nobody.
  v1::StudyStatus expired = AiSeverityStudy(v1::STUDY_STATE_DONE, "ai_severity");
  expired.mutable_rounds(0)->mutable_sites(1)->set_state("expired");
  v1::StudyStatus nobody = AiSeverityStudy(v1::STUDY_STATE_DONE, "ai_severity");
  (*nobody.mutable_rounds(0)->mutable_sites(1)->mutable_metrics())["local.n_scored"] = 0;
  for (const v1::StudyStatus& st : {expired, nobody}) {
    absl::Status s = refused(st);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("site 'igr' kept no scores of study 'sev1'"), std::string::npos)
        << s;
  }
  EXPECT_TRUE(plan->ai_severity_training_sites.empty());
  ASSERT_TRUE(refused(AiSeverityStudy(v1::STUDY_STATE_DONE, "ai_severity")).ok());
  EXPECT_EQ(plan->ai_severity_training_sites.at("sev1"), std::vector<std::string>{"kb"});

  // Marks follow each model's own features, whatever its name: not on the published scores,
  // not on a model without the input even if its name starts like one with it.
  const json models = {{{"name", "clinical at kb"},
                        {"kind", "logistic"},
                        {"features", {"age"}},
                        {"coefficients", {-3, 0.05}}},
                       {{"name", "clinical_ai at kb"},
                        {"kind", "logistic"},
                        {"features", {"age", "ai_severity:sev1"}},
                        {"coefficients", {-3, 0.05, 2}}},
                       {{"name", "CURB-65"}, {"kind", "curb65"}}};
  const std::string md = aggregator::ValidationMatrixMarkdown(*plan, {Evaluation(models)});
  EXPECT_NE(md.find("| clinical at kb | 0.80 (0.70-0.90)* | 0.80 (0.70-0.90) |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| clinical_ai at kb | 0.80 (0.70-0.90)*† | 0.80 (0.70-0.90) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| CURB-65 | 0.80 (0.70-0.90)* | 0.80 (0.70-0.90) |"), std::string::npos) << md;
  EXPECT_NE(md.find("† the model's AI-severity input comes from a study that trained on this "
                    "site's patients (sev1)"),
            std::string::npos)
      << md;

  // One unnamed feature set with the input: only the trained models are marked.
  auto single = aggregator::ParseValidationPlan(R"({
    "name": "val", "sites": ["kb", "igr"], "outcomes": ["severe"],
    "features": ["age", "ai_severity:sev1"]})");
  ASSERT_TRUE(single.ok()) << single.status();
  ASSERT_TRUE(
      aggregator::UseAiSeverityStudy(AiSeverityStudy(v1::STUDY_STATE_DONE, "ai_severity"), &*single)
          .ok());
  const json single_models = {{{"name", "at kb"},
                               {"kind", "logistic"},
                               {"features", {"age", "ai_severity:sev1"}},
                               {"coefficients", {-3, 0.05, 2}}},
                              {{"name", "CURB-65"}, {"kind", "curb65"}}};
  const std::string md1 =
      aggregator::ValidationMatrixMarkdown(*single, {Evaluation(single_models)});
  EXPECT_NE(md1.find("| at kb | 0.80 (0.70-0.90)*† |"), std::string::npos) << md1;
  EXPECT_NE(md1.find("| CURB-65 | 0.80 (0.70-0.90)* |"), std::string::npos) << md1;
}

}  // namespace
}  // namespace scancov
