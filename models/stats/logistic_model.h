// The value types of logistic regression, shared by the pooled fit (logistic_regression.h),
// the site side of the federated fit (logistic_site.h) and its coordinator
// (logistic_newton.h).
//
// The model: P(y = 1 | x) = 1 / (1 + exp(-x'beta)). With `add_intercept` a column of ones is
// put in front of the caller's columns, so coefficient 0 is the intercept. The fit maximises
// the penalised log-likelihood
//
//   l(beta) - (l2_penalty / 2) * sum over penalised j of beta_j^2,
//   l(beta) = sum_i w_i * (y_i * eta_i - log(1 + exp(eta_i))),   eta = X beta,
//
// where the intercept is never penalised. (scikit-learn's LogisticRegression(C=c) is
// l2_penalty = 1 / c; R's glm is l2_penalty = 0.) Weights w_i >= 0 are frequency weights, as in
// R's glm(weights=).
#ifndef SCANCOV_MODELS_STATS_LOGISTIC_MODEL_H_
#define SCANCOV_MODELS_STATS_LOGISTIC_MODEL_H_

#include <cstdint>
#include <vector>

#include "Eigen/Dense"

namespace scancov::stats {

struct LogisticOptions {
  // Prepend a column of ones; its coefficient (index 0) is not penalised.
  bool add_intercept = true;
  // lambda >= 0 in the penalised log-likelihood above.
  double l2_penalty = 0.0;
  // Converged when every Newton step component satisfies |step_j| <= tolerance * (1 + |beta_j|).
  // Newton converges quadratically, so the reported coefficients are far more accurate than this.
  double tolerance = 1e-10;
  // Newton steps before giving up with ResourceExhausted.
  int max_iterations = 50;
  // A row whose linear predictor exceeds this in the direction of its outcome has a fitted
  // probability numerically 1 (|eta| = 30 -> 1e-13 away); such rows mean the data are
  // (quasi-)completely separated and the maximum-likelihood estimate does not exist.
  double separation_eta = 30.0;
};

// The aggregates one site computes at a given beta; no row ever leaves the site. Plain vectors
// of doubles so that it serialises directly (summary_json.h). p is the number of coefficients
// (including the intercept).
struct LogisticSiteSummary {
  std::vector<double> beta;          // p: the point this summary was evaluated at
  std::vector<double> gradient;      // p: X'W(y - mu)
  std::vector<double> information;   // p*p, row-major: X' diag(w mu (1 - mu)) X
  double log_likelihood = 0.0;       // unpenalised
  double weight_sum = 0.0;           // sum of w_i (the number of rows when unweighted)
  int64_t num_observations = 0;      // rows
  int64_t num_events = 0;            // rows with y = 1
  int64_t num_perfectly_fitted = 0;  // rows beyond separation_eta on their outcome's side
};

struct LogisticFit {
  Eigen::VectorXd coefficients;     // p, intercept first when add_intercept
  Eigen::VectorXd standard_errors;  // sqrt(diag(covariance))
  Eigen::VectorXd z;                // coefficients / standard_errors
  Eigen::VectorXd p_values;         // two-sided Wald, normal reference (as R's summary.glm)
  // Inverse of the observed information of the penalised log-likelihood at the estimate
  // (X'WX + lambda * P). With lambda = 0 this is R's vcov(glm(...)).
  Eigen::MatrixXd covariance;
  double log_likelihood = 0.0;            // unpenalised, at the estimate
  double penalized_log_likelihood = 0.0;  // the maximised objective
  int iterations = 0;                     // Newton steps taken
  double weight_sum = 0.0;
  int64_t num_observations = 0;
  int64_t num_events = 0;
};

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_LOGISTIC_MODEL_H_
