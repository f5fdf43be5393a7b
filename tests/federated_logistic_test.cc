// Exact federated logistic regression over the federation protocol: three synthetic hospitals,
// Newton steps as rounds, and the result equal to the fit on the pooled rows.
#include "node/tasks/federated_logistic.h"

#include <Eigen/Dense>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "models/scores/risk_classes.h"
#include "models/stats/logistic_regression.h"
#include "node/tabular_features.h"
#include "node/tasks/tercile_budget.h"
#include "protocol/tensor_set.h"
#include "protocol/wire/logistic_regression.h"
#include "tests/pooled_logistic.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

using testing_sites::Pool;
using testing_sites::PooledFit;
using testing_sites::PooledRows;
using testing_sites::ScanCovRefit;

TEST(FederatedLogisticTest, NewtonRoundsOverTheProtocolEqualThePooledFit) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 11, 800));
  sites.push_back(testing_sites::MakeSite("igr", 12, 140));
  sites.push_back(testing_sites::MakeSite("hegp", 13, 300));
  const v1::StudyStatus status = testing_sites::RunAnalysisStudy(
      *federation, clock, sites, "scancov-refit", wire::ToJson(ScanCovRefit()));
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  EXPECT_GE(status.rounds_size(), 4);  // one round per Newton evaluation
  const nlohmann::json result = nlohmann::json::parse(status.rounds().rbegin()->result_json());
  ASSERT_TRUE(result.contains("fit")) << result.dump();
  const nlohmann::json& coefficients = result.at("fit").at("coefficients");
  const stats::LogisticFit pooled = PooledFit(sites);
  ASSERT_EQ(coefficients.size(), static_cast<size_t>(pooled.coefficients.size()));
  EXPECT_EQ(result.at("fit").at("n").get<int64_t>(), pooled.num_observations);
  for (size_t i = 0; i < coefficients.size(); ++i) {
    EXPECT_NEAR(coefficients[i].at("beta").get<double>(), pooled.coefficients[i], 1e-6)
        << coefficients[i].at("term");
    EXPECT_NEAR(coefficients[i].at("se").get<double>(), pooled.standard_errors[i], 1e-6);
  }
  // The direction of the seed's ScanCov coefficients (SpO2 deficit transform: negative).
  EXPECT_LT(coefficients[1].at("beta").get<double>(), 0);  // -log(1 + 100 - SpO2)
  EXPECT_GT(coefficients[2].at("beta").get<double>(), 0);  // disease extent
}

TEST(FederatedLogisticTest, SiteBelowItsMinimumCountsIsLeftOutAndSaysSo) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 11, 800));
  sites.push_back(testing_sites::MakeSite("tiny", 14, 30));
  wire::LogisticSpec spec = ScanCovRefit();
  spec.min_cell_count = 20;
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation, clock, sites, "refit-tiny", wire::ToJson(spec));
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  const nlohmann::json result = nlohmann::json::parse(status.rounds().rbegin()->result_json());
  ASSERT_EQ(result.at("refused").size(), 1u);
  EXPECT_EQ(result.at("refused")[0].at("site"), "tiny");
  EXPECT_EQ(result.at("sites"), 1);
}

}  // namespace
}  // namespace scancov

namespace scancov {
namespace {

// Issue 6: "high risk as the top tercile of training scores". After the fit, the terciles rounds
// find the 1/3- and 2/3-quantiles of the fitted model's training probabilities from counts only;
// they equal scores::TercileThresholds of the same rows' probabilities computed on the pooled
// rows, within the study's tolerance (1e-4 on the logit scale, so 1.25e-5 on probabilities).
TEST(FederatedLogisticTest, TercilesOfTheTrainingScoresEqualThePooledTerciles) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 11, 800));
  sites.push_back(testing_sites::MakeSite("igr", 12, 140));
  sites.push_back(testing_sites::MakeSite("hegp", 13, 300));
  const v1::StudyStatus status = testing_sites::RunAnalysisStudy(
      *federation, clock, sites, "refit-terciles", wire::ToJson(ScanCovRefit()));
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  int tercile_rounds = 0;
  for (const v1::RoundStatus& r : status.rounds()) {
    tercile_rounds += nlohmann::json::parse(r.result_json()).value("phase", "") == "terciles";
  }
  EXPECT_GE(tercile_rounds, 2);
  EXPECT_LE(tercile_rounds, 5);
  const nlohmann::json fit =
      nlohmann::json::parse(status.rounds().rbegin()->result_json()).at("fit");
  ASSERT_TRUE(fit.contains("terciles")) << fit.dump();
  // The pooled reference: the pooled fit's probabilities on the pooled training rows.
  const PooledRows rows = Pool(sites);
  const stats::LogisticFit pooled = PooledFit(sites);
  const Eigen::VectorXd eta =
      (rows.x * pooled.coefficients.tail(rows.x.cols())).array() + pooled.coefficients[0];
  std::vector<double> p(eta.size());
  for (Eigen::Index i = 0; i < eta.size(); ++i) p[i] = 1.0 / (1.0 + std::exp(-eta[i]));
  auto expected = scores::TercileThresholds(p);
  ASSERT_TRUE(expected.ok()) << expected.status();
  const std::vector<double> terciles = fit.at("terciles").get<std::vector<double>>();
  ASSERT_EQ(terciles.size(), 2u);
  EXPECT_NEAR(terciles[0], expected->low_medium, 1.25e-5);
  EXPECT_NEAR(terciles[1], expected->medium_high, 1.25e-5);
  std::cout << "terciles after " << tercile_rounds << " rounds: " << terciles[0] << " / "
            << terciles[1] << " (pooled " << expected->low_medium << " / " << expected->medium_high
            << ")\n";
  // Not the published constants: these are this model's own training terciles.
  EXPECT_GT(std::fabs(terciles[1] - 0.369), 1e-3);
  const scores::FiveLevelScale scale = scores::FiveLevelScaleFromTerciles(*expected);
  const std::vector<double> cuts = fit.at("five_level_cuts").get<std::vector<double>>();
  ASSERT_EQ(cuts.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(cuts[i], scale.cuts[i], 1e-4);
}

TEST(FederatedLogisticTest, TercilesCanBeTurnedOff) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 11, 400));
  wire::LogisticSpec spec = ScanCovRefit();
  spec.terciles = false;
  const v1::StudyStatus status = testing_sites::RunAnalysisStudy(
      *federation, clock, sites, "refit-no-terciles", wire::ToJson(spec));
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  const nlohmann::json result = nlohmann::json::parse(status.rounds().rbegin()->result_json());
  EXPECT_FALSE(result.contains("phase"));
  EXPECT_FALSE(result.at("fit").contains("terciles"));
}

// A terciles task of study `study`, round `round`, as the aggregator sends it.
struct TercileTask {
  v1::Task task;
  protocol::TensorSet checkpoint;
};

TercileTask Terciles(const std::string& study, uint32_t round, const std::vector<double>& beta,
                     const std::vector<double>& candidates) {
  TercileTask t;
  t.task.set_study_id(study);
  t.task.set_round(round);
  t.task.set_kind(v1::TASK_KIND_ANALYZE);
  t.task.set_spec_json(wire::ToJson(ScanCovRefit()));
  auto add = [&](const char* name, const std::vector<double>& v) {
    EXPECT_TRUE(t.checkpoint
                    .Add(protocol::FromDoubles(name, {static_cast<int64_t>(v.size())},
                                               protocol::DType::kFloat64, v))
                    .ok());
  };
  add(wire::kLogisticBeta, beta);
  add(wire::kTercileCandidates, candidates);
  return t;
}

absl::StatusCode Answer(testing_sites::Site& site, node::TercileBudget& budget,
                        const TercileTask& t) {
  node::ClinicalDatasetSource source(site.db.get());
  return node::RunLogisticRegression(t.task, &t.checkpoint, source, {}, "kb", budget)
      .status()
      .code();
}

const std::vector<double> kBeta = {-2.0, 0.5, 0.3, 0.02, 0.1, -0.2, 0.3};  // 6 features

TEST(FederatedLogisticTest, NodeRefusesNonFiniteTercileInputs) {
  testing_sites::Site site = testing_sites::MakeSite("kb", 11, 200);
  node::TercileBudget budget;
  const std::vector<double> grid = {-1.0, 0.0, 1.0};
  EXPECT_EQ(Answer(site, budget, Terciles("s", 5, kBeta, {-1.0, NAN, 1.0})),
            absl::StatusCode::kInvalidArgument);
  std::vector<double> inf_beta = kBeta;
  inf_beta[2] = INFINITY;
  EXPECT_EQ(Answer(site, budget, Terciles("s", 5, inf_beta, grid)),
            absl::StatusCode::kInvalidArgument);
  // Finite but so large that x'beta is +-inf or NaN (the sort's order would be undefined).
  std::vector<double> huge(kBeta.size(), 1e308);
  huge[3] = -1e308;
  EXPECT_EQ(Answer(site, budget, Terciles("s", 5, huge, grid)), absl::StatusCode::kInvalidArgument);
  // None of these used up the study's budget.
  for (uint32_t r = 5; r < 5 + node::TercileBudget::kMaxRoundsPerStudy; ++r) {
    EXPECT_EQ(Answer(site, budget, Terciles("s", r, kBeta, grid)), absl::StatusCode::kOk) << r;
  }
}

TEST(FederatedLogisticTest, NodeAnswersFewTercileRoundsAndOnlyForOneBeta) {
  testing_sites::Site site = testing_sites::MakeSite("kb", 11, 200);
  node::TercileBudget budget;
  const std::vector<double> grid = {-1.0, 0.0, 1.0};
  ASSERT_EQ(Answer(site, budget, Terciles("s", 7, kBeta, grid)), absl::StatusCode::kOk);
  // A coordinator probing one variable: beta = e_age, then fine grids round after round.
  std::vector<double> probe(kBeta.size(), 0.0);
  probe[3] = 1.0;
  EXPECT_EQ(Answer(site, budget, Terciles("s", 8, probe, {40.0, 41.0, 42.0})),
            absl::StatusCode::kPermissionDenied);
  for (uint32_t r = 8; r < 7 + node::TercileBudget::kMaxRoundsPerStudy; ++r) {
    EXPECT_EQ(Answer(site, budget, Terciles("s", r, kBeta, {0.1 * r})), absl::StatusCode::kOk);
  }
  EXPECT_EQ(
      Answer(site, budget, Terciles("s", 7 + node::TercileBudget::kMaxRoundsPerStudy, kBeta, grid)),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Answer(site, budget, Terciles("s", 7, kBeta, grid)), absl::StatusCode::kOk);  // retry
  EXPECT_EQ(Answer(site, budget, Terciles("s", 7, kBeta, {-0.5, 0.5})),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace scancov
