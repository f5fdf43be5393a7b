// The site side of logistic regression: a site's rows, validated once, and the aggregates
// (gradient, information, log-likelihood, counts) at any beta. This is what a hospital node
// runs in each round of the federated Newton fit; the pooled fit runs it on one "site".
//
// Thread safety: Evaluate is const and may be called concurrently.
#ifndef SCANCOV_MODELS_STATS_LOGISTIC_SITE_H_
#define SCANCOV_MODELS_STATS_LOGISTIC_SITE_H_

#include <cstdint>
#include <utility>

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/logistic_model.h"

namespace scancov::stats {

class LogisticSiteData {
 public:
  // `x` is n x k (without the intercept column; it is added when options.add_intercept),
  // `y` holds n outcomes in {0, 1}. Unweighted.
  static absl::StatusOr<LogisticSiteData> Create(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                 const LogisticOptions& options);
  // As above with frequency weights (n values, finite, >= 0, not all zero).
  static absl::StatusOr<LogisticSiteData> Create(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                 const Eigen::VectorXd& weights,
                                                 const LogisticOptions& options);

  // Coefficients in the model, intercept included.
  int num_coefficients() const { return static_cast<int>(design_.cols()); }
  int64_t num_observations() const { return design_.rows(); }

  // The site's aggregates at `beta` (num_coefficients() finite values).
  absl::StatusOr<LogisticSiteSummary> Evaluate(absl::Span<const double> beta) const;

 private:
  LogisticSiteData(Eigen::MatrixXd design, Eigen::VectorXd y, Eigen::VectorXd weights,
                   double separation_eta)
      : design_(std::move(design)),
        y_(std::move(y)),
        weights_(std::move(weights)),
        separation_eta_(separation_eta) {}

  Eigen::MatrixXd design_;  // n x p, intercept column included
  Eigen::VectorXd y_;
  Eigen::VectorXd weights_;
  double separation_eta_;
};

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_LOGISTIC_SITE_H_
