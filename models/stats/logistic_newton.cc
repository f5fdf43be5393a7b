#include "models/stats/logistic_newton.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

constexpr char kWhere[] = "LogisticNewtonCoordinator";
constexpr int kMaxHalvings = 40;
// A site must evaluate at the coordinator's beta; allow for a lossy transport of doubles.
constexpr double kBetaMatchTolerance = 1e-9;
// Smallest eigenvalue of the information matrix scaled to unit diagonal (a correlation-like
// matrix, so the test ignores the units of the columns). Exact collinearity gives ~1e-16;
// real data with correlation 0.99999 still gives ~1e-5.
constexpr double kRankTolerance = 1e-10;

absl::Status CheckSite(size_t index, const LogisticSiteSummary& site,
                       const std::vector<double>& beta) {
  const std::string where = absl::StrCat(kWhere, ": site ", index);
  const size_t p = beta.size();
  SCV_RETURN_IF_ERROR(CheckLength(where, "beta", site.beta.size(), "the model", p));
  SCV_RETURN_IF_ERROR(CheckLength(where, "gradient", site.gradient.size(), "the model", p));
  SCV_RETURN_IF_ERROR(
      CheckLength(where, "information", site.information.size(), "the model (squared)", p * p));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "gradient", site.gradient));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "information", site.information));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "beta", site.beta));
  if (!std::isfinite(site.log_likelihood) || site.log_likelihood > 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": log-likelihood is not finite and <= 0"));
  }
  if (site.num_observations <= 0 || !(site.weight_sum > 0.0) || site.num_events < 0 ||
      site.num_events > site.num_observations || site.num_perfectly_fitted < 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": inconsistent counts"));
  }
  for (size_t j = 0; j < p; ++j) {
    if (std::fabs(site.beta[j] - beta[j]) > kBetaMatchTolerance * (1.0 + std::fabs(beta[j]))) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": summary was evaluated at another beta (coefficient ", j, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

LogisticNewtonCoordinator::LogisticNewtonCoordinator(int num_coefficients,
                                                     const LogisticOptions& options)
    : p_(num_coefficients),
      options_(options),
      penalty_mask_(Eigen::VectorXd::Ones(num_coefficients)),
      next_beta_(num_coefficients, 0.0) {
  if (options.add_intercept) penalty_mask_[0] = 0.0;
}

absl::StatusOr<LogisticNewtonCoordinator> LogisticNewtonCoordinator::Create(
    int num_coefficients, const LogisticOptions& options) {
  if (num_coefficients < 1) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no coefficients"));
  }
  if (!(options.l2_penalty >= 0.0) || !std::isfinite(options.l2_penalty)) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": l2_penalty must be finite and >= 0"));
  }
  if (!(options.tolerance > 0.0) || options.max_iterations < 1 || !(options.separation_eta > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": tolerance, max_iterations and separation_eta must be positive"));
  }
  return LogisticNewtonCoordinator(num_coefficients, options);
}

absl::StatusOr<LogisticNewtonCoordinator::Totals> LogisticNewtonCoordinator::Sum(
    absl::Span<const LogisticSiteSummary> sites) const {
  if (sites.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no sites"));
  Totals t;
  t.gradient = Eigen::VectorXd::Zero(p_);
  t.information = Eigen::MatrixXd::Zero(p_, p_);
  for (size_t s = 0; s < sites.size(); ++s) {
    SCV_RETURN_IF_ERROR(CheckSite(s, sites[s], next_beta_));
    t.gradient += Eigen::Map<const Eigen::VectorXd>(sites[s].gradient.data(), p_);
    // Row-major p*p read as column-major gives the transpose; symmetrised below anyway.
    t.information += Eigen::Map<const Eigen::MatrixXd>(sites[s].information.data(), p_, p_);
    t.log_likelihood += sites[s].log_likelihood;
    t.weight_sum += sites[s].weight_sum;
    t.num_observations += sites[s].num_observations;
    t.num_events += sites[s].num_events;
    t.num_perfectly_fitted += sites[s].num_perfectly_fitted;
  }
  t.information = 0.5 * (t.information + t.information.transpose()).eval();
  const Eigen::Map<const Eigen::VectorXd> beta(next_beta_.data(), p_);
  const double lambda = options_.l2_penalty;
  t.penalized_log_likelihood =
      t.log_likelihood - 0.5 * lambda * (penalty_mask_.array() * beta.array().square()).sum();
  t.gradient -= lambda * (penalty_mask_.array() * beta.array()).matrix();
  t.information.diagonal() += lambda * penalty_mask_;
  return t;
}

absl::Status LogisticNewtonCoordinator::CheckFullRank(const Eigen::MatrixXd& information) const {
  const Eigen::VectorXd diagonal = information.diagonal();
  for (int j = 0; j < p_; ++j) {
    if (!(diagonal[j] > 0.0)) {
      return absl::FailedPreconditionError(
          absl::StrCat(kWhere, ": rank deficient: coefficient ", j, " has no information"));
    }
  }
  const Eigen::VectorXd scale = diagonal.cwiseSqrt().cwiseInverse();
  const Eigen::MatrixXd scaled = scale.asDiagonal() * information * scale.asDiagonal();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(scaled);
  if (eigen.info() != Eigen::Success) {
    return absl::InternalError(absl::StrCat(kWhere, ": eigen-decomposition failed"));
  }
  const double smallest = eigen.eigenvalues()[0];  // ascending order
  if (smallest < kRankTolerance) {
    Eigen::Index worst = 0;
    eigen.eigenvectors().col(0).cwiseAbs().maxCoeff(&worst);
    return absl::FailedPreconditionError(
        absl::StrCat(kWhere, ": rank deficient: coefficient ", worst,
                     " is (nearly) a linear combination of the others (smallest scaled eigenvalue ",
                     smallest, ")"));
  }
  return absl::OkStatus();
}

absl::Status LogisticNewtonCoordinator::Update(absl::Span<const LogisticSiteSummary> sites) {
  if (converged_) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": already converged"));
  SCV_ASSIGN_OR_RETURN(Totals totals, Sum(sites));
  Eigen::Map<Eigen::VectorXd> beta(next_beta_.data(), p_);
  if (has_accepted_ && totals.penalized_log_likelihood <
                           accepted_.penalized_log_likelihood -
                               1e-10 * (1.0 + std::fabs(accepted_.penalized_log_likelihood))) {
    if (++halvings_ > kMaxHalvings) {
      return absl::InternalError(
          absl::StrCat(kWhere, ": no ascent after ", kMaxHalvings, " step halvings"));
    }
    beta = accepted_beta_ + 0.5 * (beta - accepted_beta_);
    return absl::OkStatus();
  }
  halvings_ = 0;
  if (totals.num_perfectly_fitted > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhere, ": (quasi-)complete separation: ", totals.num_perfectly_fitted,
        " rows have fitted probabilities numerically 0 or 1, so the maximum-likelihood estimate "
        "does not exist (drop or merge the separating variable, or set l2_penalty > 0)"));
  }
  SCV_RETURN_IF_ERROR(CheckFullRank(totals.information));
  accepted_beta_ = beta;
  accepted_ = std::move(totals);
  has_accepted_ = true;
  const Eigen::VectorXd step = accepted_.information.ldlt().solve(accepted_.gradient);
  if (!step.allFinite()) {
    return absl::InternalError(absl::StrCat(kWhere, ": Newton step is not finite"));
  }
  if ((step.array().abs() <= options_.tolerance * (1.0 + beta.array().abs())).all()) {
    converged_ = true;
    return absl::OkStatus();
  }
  if (iterations_ >= options_.max_iterations) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kWhere, ": no convergence after ", options_.max_iterations,
                     " Newton steps (steadily growing coefficients suggest quasi-separation)"));
  }
  ++iterations_;
  beta += step;
  return absl::OkStatus();
}

absl::StatusOr<LogisticFit> LogisticNewtonCoordinator::Result() const {
  if (!converged_) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": not converged"));
  LogisticFit fit;
  fit.coefficients = accepted_beta_;
  fit.covariance = accepted_.information.ldlt().solve(Eigen::MatrixXd::Identity(p_, p_));
  fit.covariance = 0.5 * (fit.covariance + fit.covariance.transpose()).eval();
  fit.standard_errors = fit.covariance.diagonal().cwiseSqrt();
  fit.z = fit.coefficients.cwiseQuotient(fit.standard_errors);
  fit.p_values = fit.z.unaryExpr([](double z) { return TwoSidedNormalP(z); });
  fit.log_likelihood = accepted_.log_likelihood;
  fit.penalized_log_likelihood = accepted_.penalized_log_likelihood;
  fit.iterations = iterations_;
  fit.weight_sum = accepted_.weight_sum;
  fit.num_observations = accepted_.num_observations;
  fit.num_events = accepted_.num_events;
  return fit;
}

absl::StatusOr<LogisticFit> FitLogisticFederated(int num_coefficients,
                                                 const LogisticOptions& options,
                                                 const LogisticSiteEvaluator& evaluate_sites) {
  SCV_ASSIGN_OR_RETURN(LogisticNewtonCoordinator coordinator,
                       LogisticNewtonCoordinator::Create(num_coefficients, options));
  while (!coordinator.converged()) {
    SCV_ASSIGN_OR_RETURN(std::vector<LogisticSiteSummary> sites,
                         evaluate_sites(coordinator.next_beta()));
    SCV_RETURN_IF_ERROR(coordinator.Update(sites));
  }
  return coordinator.Result();
}

}  // namespace scancov::stats
