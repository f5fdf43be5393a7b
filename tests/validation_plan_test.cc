// The cross-site validation plan, run in process: training studies (per site and federated,
// on training parts), then evaluation studies built from their fits, then the AUC matrix.
#include <nlohmann/json.hpp>

#include "aggregator/validation_plan.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using json = nlohmann::json;

v1::StudyStatus RunStudy(aggregator::Federation& federation, FakeClock& clock,
                    std::vector<testing_sites::Site>& sites, const v1::StudySpec& spec) {
  return testing_sites::RunAnalysisStudy(federation, clock, sites, spec.name(), spec.spec_json(),
                                         60, std::vector<std::string>(spec.sites().begin(),
                                                                      spec.sites().end()));
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
  std::map<std::string, std::vector<double>> coefficients;
  for (const auto& [model, spec] : training) {
    const v1::StudyStatus st = RunStudy(*federation, clock, sites, spec);
    ASSERT_EQ(st.state(), v1::STUDY_STATE_DONE) << spec.name() << ": " << st.message();
    auto beta = aggregator::FittedCoefficients(st);
    ASSERT_TRUE(beta.ok()) << beta.status();
    EXPECT_EQ(beta->size(), 4u);
    coefficients[model.study] = *beta;
    models.push_back(model);
  }
  const auto evaluation = aggregator::EvaluationStudies(*plan, models, coefficients);
  // Split maps: {kb holdout, igr all}, {kb all, igr holdout}, {both holdout}, {both all}.
  ASSERT_EQ(evaluation.size(), 4u);
  std::vector<v1::StudyStatus> evaluated;
  for (const v1::StudySpec& spec : evaluation) {
    const json s = json::parse(spec.spec_json());
    for (const json& m : s.at("models")) {
      if (m.at("name") == "at kb") {
        EXPECT_EQ(s.at("split").at("kb"), "holdout");  // never scored on its own training rows
        EXPECT_EQ(s.at("split").at("igr"), "all");
      }
      if (m.at("name") == "federated") EXPECT_EQ(s.at("split").at("igr"), "holdout");
    }
    evaluated.push_back(RunStudy(*federation, clock, sites, spec));
    ASSERT_EQ(evaluated.back().state(), v1::STUDY_STATE_DONE);
  }
  const std::string md = aggregator::ValidationMatrixMarkdown(*plan, evaluated);
  for (const char* row : {"| at kb |", "| at igr |", "| federated |", "| ScanCov (published) |",
                          "| CURB-65 |"}) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  EXPECT_NE(md.find(")*"), std::string::npos);  // held-out cells are marked
}

}  // namespace
}  // namespace scancov
