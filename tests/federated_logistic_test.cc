// Exact federated logistic regression over the federation protocol: three synthetic hospitals,
// Newton steps as rounds, and the result equal to the fit on the pooled rows.
#include <Eigen/Dense>
#include <cmath>
#include <nlohmann/json.hpp>

#include "models/stats/logistic_regression.h"
#include "node/tabular_features.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

constexpr char kScanCovFeatures[] = R"({"analysis": "logistic_regression", "outcome": "severe",
  "features": [{"name": "spo2", "transform": "neglog_101_minus"}, "disease_extent", "age", "sex",
               {"name": "platelets", "transform": "log"}, {"name": "urea", "transform": "log"}]})";

// The pooled fit, computed the way nobody in a federation could: all rows in one place.
stats::LogisticFit PooledFit(std::vector<testing_sites::Site>& sites) {
  auto spec = node::ParseTabularTaskSpec(kScanCovFeatures);
  EXPECT_TRUE(spec.ok());
  std::vector<std::string> names;
  for (const auto& f : spec->features) names.push_back(f.name);
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (auto& site : sites) {
    node::ClinicalDatasetSource source(site.db.get());
    auto data = source.Load(names, "severe");
    EXPECT_TRUE(data.ok());
    for (size_t i = 0; i < data->keys.size(); ++i) {
      std::vector<double> row;
      bool ok = true;
      for (size_t j = 0; j < names.size(); ++j) {
        row.push_back(node::TransformFeature(spec->features[j], data->x[i * names.size() + j]));
        ok &= std::isfinite(row.back());
      }
      if (!ok) continue;
      rows.push_back(row);
      y.push_back(data->y[i]);
    }
  }
  Eigen::MatrixXd x(rows.size(), names.size());
  Eigen::VectorXd yy(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < names.size(); ++j) x(i, j) = rows[i][j];
    yy[i] = y[i];
  }
  auto fit = stats::FitLogistic(x, yy, stats::LogisticOptions{});
  EXPECT_TRUE(fit.ok()) << fit.status();
  return *fit;
}

TEST(FederatedLogisticTest, NewtonRoundsOverTheProtocolEqualThePooledFit) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 11, 800));
  sites.push_back(testing_sites::MakeSite("igr", 12, 140));
  sites.push_back(testing_sites::MakeSite("hegp", 13, 300));
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation, clock, sites, "scancov-refit", kScanCovFeatures);
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
  std::string spec(kScanCovFeatures);
  spec.insert(spec.size() - 1, R"(, "min_cell_count": 20)");
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation, clock, sites, "refit-tiny", spec);
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  const nlohmann::json result = nlohmann::json::parse(status.rounds().rbegin()->result_json());
  ASSERT_EQ(result.at("refused").size(), 1u);
  EXPECT_EQ(result.at("refused")[0].at("site"), "tiny");
  EXPECT_EQ(result.at("sites"), 1);
}

}  // namespace
}  // namespace scancov
