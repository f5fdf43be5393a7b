// The ScanCov paper's coefficients with the intercept calibrated across sites by federated
// Newton steps on one parameter, equal to the calibration on the pooled rows.
#include "models/scores/intercept_calibration.h"

#include "protocol/wire/intercept_calibration.h"
#include "tests/pooled_intercept.h"
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
  const scores::InterceptCalibration pooled =
      testing_sites::PooledInterceptCalibration(sites, "severe");
  EXPECT_EQ(fit.num_observations, pooled.num_observations);
  EXPECT_GT(fit.num_observations, 0);
  EXPECT_NEAR(fit.intercept, pooled.intercept, 1e-8);
  EXPECT_NEAR(fit.standard_error, pooled.standard_error, 1e-8);
}

}  // namespace
}  // namespace scancov
