#include "models/scores/intercept_calibration.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/linear_model.h"
#include "models/stats/input_checks.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "intercept calibration";

// log(1 + exp(x)) without overflow.
double Log1pExp(double x) {
  return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

absl::Status CheckSummary(const InterceptSiteSummary& s, size_t index, double expected) {
  if (s.intercept != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": site summary ", index, " was evaluated at another intercept than requested"));
  }
  if (!std::isfinite(s.score) || !std::isfinite(s.information) || s.information < 0.0 ||
      !std::isfinite(s.log_likelihood) || s.num_observations < 1 || s.num_events < 0 ||
      s.num_events > s.num_observations) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": site summary ", index, " is malformed"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InterceptSiteSummary> SummarizeInterceptSite(
    absl::Span<const double> linear_predictors, absl::Span<const double> outcomes,
    double intercept) {
  SCV_RETURN_IF_ERROR(stats::CheckNonEmpty(kWhere, "linear_predictors", linear_predictors));
  SCV_RETURN_IF_ERROR(stats::CheckLength(kWhere, "outcomes", outcomes.size(), "linear_predictors",
                                         linear_predictors.size()));
  SCV_RETURN_IF_ERROR(stats::CheckFinite(kWhere, "linear_predictors", linear_predictors));
  SCV_RETURN_IF_ERROR(stats::CheckBinary(kWhere, "outcomes", outcomes));
  if (!std::isfinite(intercept)) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": intercept is not finite"));
  }
  InterceptSiteSummary s;
  s.intercept = intercept;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const double eta = intercept + linear_predictors[i];
    const double p = Sigmoid(eta);
    s.score += outcomes[i] - p;
    s.information += p * (1.0 - p);
    s.log_likelihood += outcomes[i] * eta - Log1pExp(eta);
    s.num_events += outcomes[i] == 1.0 ? 1 : 0;
  }
  s.num_observations = static_cast<int64_t>(outcomes.size());
  return s;
}

absl::StatusOr<InterceptCalibrator> InterceptCalibrator::Create(
    const InterceptCalibrationOptions& options) {
  if (!std::isfinite(options.initial_intercept) || !(options.tolerance > 0.0) ||
      options.max_iterations < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": initial_intercept must be finite, tolerance and max_iterations positive"));
  }
  return InterceptCalibrator(options);
}

absl::Status InterceptCalibrator::Update(absl::Span<const InterceptSiteSummary> sites) {
  if (converged_) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": already converged"));
  if (sites.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no sites"));
  InterceptSiteSummary total;
  total.intercept = next_;
  for (size_t i = 0; i < sites.size(); ++i) {
    SCV_RETURN_IF_ERROR(CheckSummary(sites[i], i, next_));
    total.score += sites[i].score;
    total.information += sites[i].information;
    total.log_likelihood += sites[i].log_likelihood;
    total.num_observations += sites[i].num_observations;
    total.num_events += sites[i].num_events;
  }
  if (total.num_events == 0 || total.num_events == total.num_observations) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhere, ": all patients have the same outcome, so the intercept is not identifiable"));
  }
  // A drop within rounding (sums over sites in another order, near the optimum) is no drop:
  // halving on it would walk away from a converged estimate (as the logistic coordinator does).
  if (has_accepted_ &&
      total.log_likelihood < accepted_total_.log_likelihood -
                                 1e-10 * (1.0 + std::fabs(accepted_total_.log_likelihood))) {
    if (++halvings_ > 50) {
      return absl::InternalError(absl::StrCat(kWhere, ": no ascent after 50 step halvings"));
    }
    next_ = accepted_ + 0.5 * (next_ - accepted_);
    return absl::OkStatus();
  }
  has_accepted_ = true;
  accepted_ = next_;
  accepted_total_ = total;
  halvings_ = 0;
  if (!(total.information > 0.0)) {
    return absl::FailedPreconditionError(
        absl::StrCat(kWhere, ": zero information (fitted probabilities all 0 or 1)"));
  }
  const double step = total.score / total.information;
  if (std::fabs(step) <= options_.tolerance) {
    converged_ = true;
    return absl::OkStatus();
  }
  if (iterations_ >= options_.max_iterations) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kWhere, ": no convergence after ", options_.max_iterations, " steps"));
  }
  ++iterations_;
  next_ = accepted_ + step;
  return absl::OkStatus();
}

absl::StatusOr<InterceptCalibration> InterceptCalibrator::Result() const {
  if (!converged_) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": not converged"));
  InterceptCalibration r;
  r.intercept = accepted_;
  r.standard_error = 1.0 / std::sqrt(accepted_total_.information);
  r.log_likelihood = accepted_total_.log_likelihood;
  r.iterations = iterations_;
  r.num_observations = accepted_total_.num_observations;
  r.num_events = accepted_total_.num_events;
  return r;
}

absl::StatusOr<InterceptCalibration> CalibrateInterceptFederated(
    const InterceptSiteEvaluator& evaluate_sites, const InterceptCalibrationOptions& options) {
  SCV_ASSIGN_OR_RETURN(InterceptCalibrator calibrator, InterceptCalibrator::Create(options));
  // Each Newton step costs one round, each halving one more; bound the rounds generously.
  const int max_rounds = 52 * (options.max_iterations + 1);
  for (int round = 0; round < max_rounds && !calibrator.converged(); ++round) {
    SCV_ASSIGN_OR_RETURN(const std::vector<InterceptSiteSummary> sites,
                         evaluate_sites(calibrator.next_intercept()));
    SCV_RETURN_IF_ERROR(calibrator.Update(sites));
  }
  return calibrator.Result();
}

absl::StatusOr<InterceptCalibration> CalibrateIntercept(
    absl::Span<const double> linear_predictors, absl::Span<const double> outcomes,
    const InterceptCalibrationOptions& options) {
  return CalibrateInterceptFederated(
      [&](double intercept) -> absl::StatusOr<std::vector<InterceptSiteSummary>> {
        SCV_ASSIGN_OR_RETURN(InterceptSiteSummary s,
                             SummarizeInterceptSite(linear_predictors, outcomes, intercept));
        return std::vector<InterceptSiteSummary>{s};
      },
      options);
}

}  // namespace scancov::scores
