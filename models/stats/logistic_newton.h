// The coordinator side of an exact federated logistic regression. Each round, every site
// evaluates LogisticSiteData::Evaluate at next_beta() and sends the summary (gradient,
// information X'WX, log-likelihood, counts: aggregates only, never rows). The coordinator sums
// them, adds the L2 penalty, checks for separation and rank deficiency and takes the Newton
// step. Because the log-likelihood, its gradient and its Hessian are sums over rows, the sum
// over sites is exactly the pooled quantity, so the federated fit equals the pooled fit
// (FitLogistic runs this same coordinator with one site).
//
// A step that lowers the penalised log-likelihood is halved (one extra round each time) until
// it does not; that keeps Newton safe with outliers and large penalties.
//
// Errors (Update and FitLogisticFederated):
//   InvalidArgument     a summary that is malformed or evaluated at another beta, no sites
//   FailedPrecondition  (quasi-)complete separation; rank-deficient information matrix
//   ResourceExhausted   no convergence within options.max_iterations
//   Internal            no ascent even after 40 step halvings (numerical trouble)
//
// Thread safety: none; one coordinator per fit, driven from one thread.
#ifndef SCANCOV_MODELS_STATS_LOGISTIC_NEWTON_H_
#define SCANCOV_MODELS_STATS_LOGISTIC_NEWTON_H_

#include <functional>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/logistic_model.h"

namespace scancov::stats {

class LogisticNewtonCoordinator {
 public:
  // `num_coefficients` includes the intercept when options.add_intercept (which marks
  // coefficient 0 as unpenalised). Starts at beta = 0.
  static absl::StatusOr<LogisticNewtonCoordinator> Create(int num_coefficients,
                                                          const LogisticOptions& options);

  // Where every site must evaluate its next summary.
  const std::vector<double>& next_beta() const { return next_beta_; }
  bool converged() const { return converged_; }
  // Newton steps taken so far (halvings not counted).
  int iterations() const { return iterations_; }

  // Combines the summaries of all sites, evaluated at next_beta(). Afterwards either
  // converged() is true or next_beta() has moved. An error ends the fit.
  absl::Status Update(absl::Span<const LogisticSiteSummary> sites);

  // The fit; FailedPrecondition until converged().
  absl::StatusOr<LogisticFit> Result() const;

 private:
  LogisticNewtonCoordinator(int num_coefficients, const LogisticOptions& options);

  // The sum over sites, validated, with the penalty added.
  struct Totals {
    Eigen::VectorXd gradient;     // penalised
    Eigen::MatrixXd information;  // penalised
    double log_likelihood = 0.0;
    double penalized_log_likelihood = 0.0;
    double weight_sum = 0.0;
    int64_t num_observations = 0;
    int64_t num_events = 0;
    int64_t num_perfectly_fitted = 0;
  };
  absl::StatusOr<Totals> Sum(absl::Span<const LogisticSiteSummary> sites) const;
  absl::Status CheckFullRank(const Eigen::MatrixXd& information) const;

  int p_;
  LogisticOptions options_;
  Eigen::VectorXd penalty_mask_;  // 1 for penalised coefficients, 0 for the intercept
  std::vector<double> next_beta_;
  bool has_accepted_ = false;
  Eigen::VectorXd accepted_beta_;
  Totals accepted_;
  int iterations_ = 0;
  int halvings_ = 0;
  bool converged_ = false;
};

// What the coordinator asks of the sites in each round: their summaries at `beta`.
using LogisticSiteEvaluator =
    std::function<absl::StatusOr<std::vector<LogisticSiteSummary>>(absl::Span<const double> beta)>;

// Runs the coordinator to convergence, calling `evaluate_sites` once per round.
absl::StatusOr<LogisticFit> FitLogisticFederated(int num_coefficients,
                                                 const LogisticOptions& options,
                                                 const LogisticSiteEvaluator& evaluate_sites);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_LOGISTIC_NEWTON_H_
