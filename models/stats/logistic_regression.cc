#include "models/stats/logistic_regression.h"

#include <vector>

#include "core/status_macros.h"
#include "models/stats/logistic_newton.h"
#include "models/stats/logistic_site.h"

namespace scancov::stats {

absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        const LogisticOptions& options) {
  return FitLogistic(x, y, Eigen::VectorXd::Ones(y.size()), options);
}

absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& weights,
                                        const LogisticOptions& options) {
  SCV_ASSIGN_OR_RETURN(const LogisticSiteData data,
                       LogisticSiteData::Create(x, y, weights, options));
  const LogisticSiteEvaluator evaluate =
      [&data](absl::Span<const double> beta) -> absl::StatusOr<std::vector<LogisticSiteSummary>> {
    SCV_ASSIGN_OR_RETURN(LogisticSiteSummary summary, data.Evaluate(beta));
    return std::vector<LogisticSiteSummary>{std::move(summary)};
  };
  return FitLogisticFederated(data.num_coefficients(), options, evaluate);
}

}  // namespace scancov::stats
