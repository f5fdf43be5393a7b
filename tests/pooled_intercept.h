// The reference a federated intercept calibration is checked against: the published ScanCov
// model's linear predictors of every synthetic site's patients, calibrated in one place (the
// way nobody in a federation could).
#ifndef SCANCOV_TESTS_POOLED_INTERCEPT_H_
#define SCANCOV_TESTS_POOLED_INTERCEPT_H_

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/scores/intercept_calibration.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/published_models.h"
#include "node/clinical_source.h"
#include "sites/cohort/variables.h"
#include "tests/test_sites.h"

namespace scancov::testing_sites {

// The pooled calibration of ScanCovPaperModel's intercept for `outcome`, over the patients whose
// linear predictor is computable (as each node skips the others).
inline scores::InterceptCalibration PooledInterceptCalibration(std::vector<Site>& sites,
                                                               const std::string& outcome) {
  std::vector<double> lp, y;
  std::vector<std::string> names;
  for (const auto& v : sites::AdmissionVariables()) names.push_back(v.name);
  for (auto& site : sites) {
    node::ClinicalDatasetSource source(site.db.get());
    auto rows = source.Load(names, outcome);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) continue;
    for (size_t i = 0; i < rows->keys.size(); ++i) {
      scores::PatientInputs in;
      for (size_t j = 0; j < names.size(); ++j) {
        const double v = rows->x[i * names.size() + j];
        if (!std::isnan(v) && scores::FindInputSpec(names[j])) in.Set(names[j], v);
      }
      auto t = scores::TermsSum(scores::ScanCovPaperModel(), in);
      if (!t.ok()) continue;
      lp.push_back(*t);
      y.push_back(rows->y[i]);
    }
  }
  auto pooled = scores::CalibrateIntercept(lp, y);
  EXPECT_TRUE(pooled.ok()) << pooled.status();
  return pooled.ok() ? *pooled : scores::InterceptCalibration{};
}

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_POOLED_INTERCEPT_H_
