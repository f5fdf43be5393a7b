// The ScanCov paper's coefficients with the intercept calibrated across sites by federated
// Newton steps on one parameter, equal to the calibration on the pooled rows.
#include "models/scores/intercept_calibration.h"

#include <cmath>

#include "models/scores/linear_model.h"
#include "models/scores/published_models.h"
#include "protocol/wire/intercept_calibration.h"
#include "sites/cohort/variables.h"
#include "tests/test_sites.h"

namespace scancov {
namespace {

TEST(InterceptCalibrationTest, FederatedRoundsEqualThePooledCalibration) {
  FakeClock clock;
  auto federation = testing_sites::InMemoryFederation(clock);
  std::vector<testing_sites::Site> sites;
  sites.push_back(testing_sites::MakeSite("kb", 61, 800));
  sites.push_back(testing_sites::MakeSite("igr", 62, 140));
  wire::InterceptSpec spec;
  spec.outcome = "severe";
  spec.model = "scancov_paper";
  const v1::StudyStatus status =
      testing_sites::RunAnalysisStudy(*federation, clock, sites, "calibrate", wire::ToJson(spec));
  // Newton on one parameter converges in a handful of rounds; at the optimum, sums that differ
  // by rounding must not send it walking (a regression: it used to halve on a 1e-13 drop).
  EXPECT_LE(status.rounds_size(), 8);
  ASSERT_EQ(status.state(), v1::STUDY_STATE_DONE) << status.message();
  const absl::StatusOr<wire::InterceptRoundResult> result =
      wire::ParseInterceptRoundResult(status.rounds().rbegin()->result_json());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->fit.has_value());
  const scores::InterceptCalibration& fit = *result->fit;

  // Independently: the linear predictors of every site's patients, calibrated in one place.
  std::vector<double> lp, y;
  std::vector<std::string> names;
  for (const auto& v : sites::AdmissionVariables()) names.push_back(v.name);
  for (auto& site : sites) {
    node::ClinicalDatasetSource source(site.db.get());
    auto rows = source.Load(names, "severe");
    ASSERT_TRUE(rows.ok());
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
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  EXPECT_EQ(fit.num_observations, static_cast<int64_t>(lp.size()));
  EXPECT_NEAR(fit.intercept, pooled->intercept, 1e-8);
  EXPECT_NEAR(fit.standard_error, pooled->standard_error, 1e-8);
}

}  // namespace
}  // namespace scancov
