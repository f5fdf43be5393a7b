// Logistic regression on pooled rows by Newton's method (equivalently IRLS: for the logit
// link the observed and expected information coincide), with an optional L2 penalty that
// leaves the intercept alone. The model, penalty and outputs are described in
// logistic_model.h; the iteration, convergence rule and error codes in logistic_newton.h.
// The pooled fit is the federated fit with one site, so the two cannot drift apart.
//
// With l2_penalty = 0 the results match R's glm(y ~ x, family = binomial) and its summary():
// coefficients, standard errors, z values and Pr(>|z|).
#ifndef SCANCOV_MODELS_STATS_LOGISTIC_REGRESSION_H_
#define SCANCOV_MODELS_STATS_LOGISTIC_REGRESSION_H_

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "models/stats/logistic_model.h"

namespace scancov::stats {

// `x` is n x k without the intercept column, `y` has n values in {0, 1}.
absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        const LogisticOptions& options = {});

// As above with frequency weights w_i >= 0 (R's glm(weights = w)).
absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& weights,
                                        const LogisticOptions& options = {});

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_LOGISTIC_REGRESSION_H_
