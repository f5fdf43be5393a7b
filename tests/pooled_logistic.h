// The reference a federated logistic regression is checked against: the fit on the pooled rows
// of the synthetic sites, gathered the way nobody in a federation could (all in one place), and
// the seed's ScanCov model refitted as the study's spec.
#ifndef SCANCOV_TESTS_POOLED_LOGISTIC_H_
#define SCANCOV_TESTS_POOLED_LOGISTIC_H_

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/logistic_regression.h"
#include "node/clinical_source.h"
#include "node/tabular_features.h"
#include "protocol/wire/logistic_regression.h"
#include "tests/test_sites.h"

namespace scancov::testing_sites {

// The seed's ScanCov model refitted.
inline wire::LogisticSpec ScanCovRefit() {
  wire::LogisticSpec spec;
  spec.outcome = "severe";
  spec.features = {{"spo2", "neglog_101_minus"}, {"disease_extent"}, {"age"}, {"sex"},
                   {"platelets", "log"},         {"urea", "log"}};
  return spec;
}

// The pooled rows, gathered the way nobody in a federation could: all in one place.
struct PooledRows {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

inline PooledRows Pool(std::vector<Site>& sites) {
  const wire::LogisticSpec spec = ScanCovRefit();
  const std::vector<std::string> names = wire::FeatureNames(spec.features);
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
        row.push_back(node::TransformFeature(spec.features[j], data->x[i * names.size() + j]));
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
  return {x, yy};
}

inline stats::LogisticFit PooledFit(std::vector<Site>& sites) {
  const PooledRows rows = Pool(sites);
  auto fit = stats::FitLogistic(rows.x, rows.y, stats::LogisticOptions{});
  EXPECT_TRUE(fit.ok()) << fit.status();
  return *fit;
}

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_POOLED_LOGISTIC_H_
