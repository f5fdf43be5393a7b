#include "models/stats/logistic_newton.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/stats/logistic_regression.h"
#include "models/stats/logistic_site.h"
#include "models/stats/summary_json.h"
#include "models/stats/test_data.h"

namespace scancov::stats {
namespace {

using test_data::kW;
using test_data::kY;
using test_data::LogisticDesign;
using test_data::ToEigen;

// The 40 rows of test_data.h split into three unequal "hospitals".
std::vector<LogisticSiteData> ThreeSites(const LogisticOptions& options, bool weighted) {
  const Eigen::MatrixXd x = LogisticDesign();
  const Eigen::VectorXd y = ToEigen(kY);
  const Eigen::VectorXd w = weighted ? ToEigen(kW) : Eigen::VectorXd::Ones(40);
  const std::vector<std::pair<int, int>> ranges = {{0, 9}, {9, 25}, {25, 40}};
  std::vector<LogisticSiteData> sites;
  for (const auto& [begin, end] : ranges) {
    const int n = end - begin;
    absl::StatusOr<LogisticSiteData> site = LogisticSiteData::Create(
        x.middleRows(begin, n), y.segment(begin, n), w.segment(begin, n), options);
    EXPECT_TRUE(site.ok()) << site.status();
    sites.push_back(*std::move(site));
  }
  return sites;
}

LogisticSiteEvaluator InProcess(const std::vector<LogisticSiteData>& sites) {
  return
      [&sites](absl::Span<const double> beta) -> absl::StatusOr<std::vector<LogisticSiteSummary>> {
        std::vector<LogisticSiteSummary> summaries;
        for (const LogisticSiteData& site : sites) {
          absl::StatusOr<LogisticSiteSummary> s = site.Evaluate(beta);
          if (!s.ok()) return s.status();
          summaries.push_back(*std::move(s));
        }
        return summaries;
      };
}

void ExpectSameFit(const LogisticFit& a, const LogisticFit& b, double tol) {
  ASSERT_EQ(a.coefficients.size(), b.coefficients.size());
  for (Eigen::Index j = 0; j < a.coefficients.size(); ++j) {
    EXPECT_NEAR(a.coefficients[j], b.coefficients[j], tol) << "coefficient " << j;
    EXPECT_NEAR(a.standard_errors[j], b.standard_errors[j], tol) << "se " << j;
  }
  EXPECT_NEAR(a.log_likelihood, b.log_likelihood, tol);
  EXPECT_EQ(a.num_observations, b.num_observations);
  EXPECT_EQ(a.num_events, b.num_events);
}

// The pooled fit is checked against R's glm in logistic_regression_test.cc; here the
// federated fit must reproduce it.
TEST(FederatedLogisticTest, EqualsPooledFit) {
  for (const bool weighted : {false, true}) {
    for (const double penalty : {0.0, 2.0}) {
      LogisticOptions options;
      options.l2_penalty = penalty;
      const std::vector<LogisticSiteData> sites = ThreeSites(options, weighted);
      absl::StatusOr<LogisticFit> federated = FitLogisticFederated(4, options, InProcess(sites));
      ASSERT_TRUE(federated.ok()) << federated.status();
      const Eigen::VectorXd w = weighted ? ToEigen(kW) : Eigen::VectorXd::Ones(40);
      absl::StatusOr<LogisticFit> pooled = FitLogistic(LogisticDesign(), ToEigen(kY), w, options);
      ASSERT_TRUE(pooled.ok()) << pooled.status();
      SCOPED_TRACE(::testing::Message() << "weighted " << weighted << " penalty " << penalty);
      ExpectSameFit(*federated, *pooled, 1e-9);
    }
  }
  // And the unpenalised, unweighted federated fit against R directly
  // (glm(y ~ x1 + x2 + x3, family = binomial), see logistic_regression_test.cc).
  const std::vector<LogisticSiteData> sites = ThreeSites({}, false);
  absl::StatusOr<LogisticFit> federated = FitLogisticFederated(4, {}, InProcess(sites));
  ASSERT_TRUE(federated.ok());
  EXPECT_NEAR(federated->coefficients[1], 0.0805627947020483, 1e-9);
  EXPECT_NEAR(federated->standard_errors[3], 0.457484382867859, 1e-9);
}

// Each round goes through JSON text, as it would over the wire.
TEST(FederatedLogisticTest, RoundsThroughJsonEqualPooledFit) {
  const std::vector<LogisticSiteData> sites = ThreeSites({}, false);
  absl::StatusOr<LogisticNewtonCoordinator> coordinator = LogisticNewtonCoordinator::Create(4, {});
  ASSERT_TRUE(coordinator.ok());
  int rounds = 0;
  while (!coordinator->converged()) {
    ASSERT_LT(++rounds, 100);
    std::vector<LogisticSiteSummary> received;
    for (const LogisticSiteData& site : sites) {
      absl::StatusOr<LogisticSiteSummary> s = site.Evaluate(coordinator->next_beta());
      ASSERT_TRUE(s.ok());
      const std::string wire = ToJson(*s).dump();
      absl::StatusOr<nlohmann::json> parsed = ParseJson(wire);
      ASSERT_TRUE(parsed.ok());
      absl::StatusOr<LogisticSiteSummary> back = LogisticSiteSummaryFromJson(*parsed);
      ASSERT_TRUE(back.ok()) << back.status();
      received.push_back(*back);
    }
    ASSERT_TRUE(coordinator->Update(received).ok());
  }
  absl::StatusOr<LogisticFit> federated = coordinator->Result();
  absl::StatusOr<LogisticFit> pooled = FitLogistic(LogisticDesign(), ToEigen(kY));
  ASSERT_TRUE(federated.ok() && pooled.ok());
  ExpectSameFit(*federated, *pooled, 1e-12);
}

TEST(FederatedLogisticTest, SeparationAcrossSitesIsDetected) {
  // No single site is separated on its own in a way the coordinator could see, but the
  // union is: x <= 3 all y = 0, x >= 4 all y = 1.
  Eigen::MatrixXd xa(3, 1), xb(3, 1);
  xa << 1, 4, 5;
  xb << 2, 3, 6;
  Eigen::VectorXd ya(3), yb(3);
  ya << 0, 1, 1;
  yb << 0, 0, 1;
  std::vector<LogisticSiteData> sites;
  sites.push_back(*LogisticSiteData::Create(xa, ya, {}));
  sites.push_back(*LogisticSiteData::Create(xb, yb, {}));
  absl::StatusOr<LogisticFit> fit = FitLogisticFederated(2, {}, InProcess(sites));
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(fit.status().message().find("separation"), absl::string_view::npos);
}

TEST(FederatedLogisticTest, CoordinatorValidatesSummaries) {
  const std::vector<LogisticSiteData> sites = ThreeSites({}, false);
  absl::StatusOr<LogisticNewtonCoordinator> coordinator = LogisticNewtonCoordinator::Create(4, {});
  ASSERT_TRUE(coordinator.ok());
  const LogisticSiteSummary good = *sites[0].Evaluate(coordinator->next_beta());

  EXPECT_EQ(coordinator->Update({}).code(), absl::StatusCode::kInvalidArgument);
  LogisticSiteSummary stale = *sites[0].Evaluate(std::vector<double>{0.5, 0, 0, 0});
  absl::Status status = coordinator->Update({good, stale});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("site 1"), absl::string_view::npos) << status;
  LogisticSiteSummary short_gradient = good;
  short_gradient.gradient.pop_back();
  EXPECT_EQ(coordinator->Update({short_gradient}).code(), absl::StatusCode::kInvalidArgument);
  LogisticSiteSummary nan_information = good;
  nan_information.information[5] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(coordinator->Update({nan_information}).code(), absl::StatusCode::kInvalidArgument);
  LogisticSiteSummary empty_site = good;
  empty_site.num_observations = 0;
  EXPECT_EQ(coordinator->Update({empty_site}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(coordinator->Result().ok());
  EXPECT_EQ(LogisticNewtonCoordinator::Create(0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FederatedLogisticTest, SiteRejectsWrongBeta) {
  const std::vector<LogisticSiteData> sites = ThreeSites({}, false);
  EXPECT_EQ(sites[0].Evaluate(std::vector<double>{0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sites[0]
                .Evaluate(std::vector<double>{0, 0, 0, std::numeric_limits<double>::infinity()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace scancov::stats
