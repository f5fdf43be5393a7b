#include "models/stats/univariate_association.h"

#include <cmath>
#include <vector>

#include "Eigen/Dense"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"
#include "models/stats/logistic_regression.h"

namespace scancov::stats {
namespace {

constexpr char kWhere[] = "UnivariateAssociation";

}  // namespace

absl::StatusOr<Association> UnivariateAssociation(absl::Span<const double> x,
                                                  absl::Span<const double> y, VariableKind kind,
                                                  const AssociationOptions& options) {
  SCV_RETURN_IF_ERROR(CheckNonEmpty(kWhere, "y", y));
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "x", x.size(), "y", y.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "y", y));
  SCV_RETURN_IF_ERROR(CheckBinary(kWhere, "y", y));
  SCV_RETURN_IF_ERROR(CheckConfidenceLevel(kWhere, options.confidence_level));
  if (!options.drop_missing_x) SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "x", x));
  std::vector<double> used_x;
  std::vector<double> used_y;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) continue;
    used_x.push_back(x[i]);
    used_y.push_back(y[i]);
  }
  if (used_x.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": fewer than 2 complete rows"));
  }
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "x", used_x));
  if (kind == VariableKind::kBinary) SCV_RETURN_IF_ERROR(CheckBinary(kWhere, "x", used_x));

  Eigen::Map<const Eigen::VectorXd> xv(used_x.data(), used_x.size());
  const double n = static_cast<double>(used_x.size());
  double scale = 1.0;
  if (kind == VariableKind::kContinuous) {
    const double mean = xv.mean();
    scale = std::sqrt((xv.array() - mean).square().sum() / (n - 1.0));
  }
  if (!((xv.array() != xv[0]).any())) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": x takes a single value"));
  }
  // Fitting on x / scale gives the per-SD coefficient directly (the same likelihood surface,
  // rescaled), and keeps the Newton iteration well conditioned whatever the units.
  const Eigen::MatrixXd design = xv / scale;
  const Eigen::VectorXd yv = Eigen::Map<const Eigen::VectorXd>(used_y.data(), used_y.size());
  absl::StatusOr<LogisticFit> fit = FitLogistic(design, yv);
  if (!fit.ok()) return Annotate(fit.status(), kWhere);

  Association result;
  result.kind = kind;
  result.scale = scale;
  result.log_odds_ratio = fit->coefficients[1];
  result.standard_error = fit->standard_errors[1];
  const double crit = TwoSidedCriticalValue(options.confidence_level);
  result.odds_ratio = std::exp(result.log_odds_ratio);
  result.ci_lower = std::exp(result.log_odds_ratio - crit * result.standard_error);
  result.ci_upper = std::exp(result.log_odds_ratio + crit * result.standard_error);
  result.z = fit->z[1];
  result.p_value = fit->p_values[1];
  result.n = fit->num_observations;
  result.events = fit->num_events;
  return result;
}

}  // namespace scancov::stats
