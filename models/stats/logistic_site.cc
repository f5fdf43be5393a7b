#include "models/stats/logistic_site.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

constexpr char kWhere[] = "LogisticSiteData";

absl::Span<const double> AsSpan(const Eigen::VectorXd& v) {
  return absl::Span<const double>(v.data(), static_cast<size_t>(v.size()));
}

// log(1 + exp(eta)) without overflow.
double Log1pExp(double eta) {
  return eta > 0 ? eta + std::log1p(std::exp(-eta)) : std::log1p(std::exp(eta));
}

}  // namespace

absl::StatusOr<LogisticSiteData> LogisticSiteData::Create(const Eigen::MatrixXd& x,
                                                          const Eigen::VectorXd& y,
                                                          const LogisticOptions& options) {
  return Create(x, y, Eigen::VectorXd::Ones(y.size()), options);
}

absl::StatusOr<LogisticSiteData> LogisticSiteData::Create(const Eigen::MatrixXd& x,
                                                          const Eigen::VectorXd& y,
                                                          const Eigen::VectorXd& weights,
                                                          const LogisticOptions& options) {
  SCV_RETURN_IF_ERROR(CheckNonEmpty(kWhere, "y", AsSpan(y)));
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "y", y.size(), "x (rows)", x.rows()));
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "weights", weights.size(), "y", y.size()));
  if (x.cols() == 0 && !options.add_intercept) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no columns and no intercept"));
  }
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "x", absl::Span<const double>(x.data(), x.size())));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "y", AsSpan(y)));
  SCV_RETURN_IF_ERROR(CheckBinary(kWhere, "y", AsSpan(y)));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "weights", AsSpan(weights)));
  if ((weights.array() < 0.0).any() || weights.sum() <= 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": weights must be >= 0 and not all zero"));
  }
  const int offset = options.add_intercept ? 1 : 0;
  Eigen::MatrixXd design(x.rows(), x.cols() + offset);
  if (options.add_intercept) design.col(0).setOnes();
  design.rightCols(x.cols()) = x;
  return LogisticSiteData(std::move(design), y, weights, options.separation_eta);
}

absl::StatusOr<LogisticSiteSummary> LogisticSiteData::Evaluate(
    absl::Span<const double> beta) const {
  constexpr char kEvaluate[] = "LogisticSiteData::Evaluate";
  SCV_RETURN_IF_ERROR(CheckLength(kEvaluate, "beta", beta.size(), "the design (columns)",
                                  static_cast<size_t>(design_.cols())));
  SCV_RETURN_IF_ERROR(CheckFinite(kEvaluate, "beta", beta));
  const Eigen::Map<const Eigen::VectorXd> b(beta.data(), beta.size());
  const Eigen::VectorXd eta = design_ * b;
  const int64_t n = design_.rows();
  Eigen::VectorXd residual(n);   // w (y - mu)
  Eigen::VectorXd curvature(n);  // w mu (1 - mu)
  LogisticSiteSummary summary;
  for (int64_t i = 0; i < n; ++i) {
    // mu (1 - mu) = e^{-|eta|} / (1 + e^{-|eta|})^2 stays accurate in the tails.
    const double e = std::exp(-std::fabs(eta[i]));
    const double mu = eta[i] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    residual[i] = weights_[i] * (y_[i] - mu);
    curvature[i] = weights_[i] * e / ((1.0 + e) * (1.0 + e));
    summary.log_likelihood += weights_[i] * (y_[i] * eta[i] - Log1pExp(eta[i]));
    if (weights_[i] > 0.0 && ((y_[i] == 1.0 && eta[i] > separation_eta_) ||
                              (y_[i] == 0.0 && eta[i] < -separation_eta_))) {
      ++summary.num_perfectly_fitted;
    }
    if (y_[i] == 1.0) ++summary.num_events;
  }
  const Eigen::VectorXd gradient = design_.transpose() * residual;
  const Eigen::MatrixXd information = design_.transpose() * curvature.asDiagonal() * design_;
  summary.beta.assign(beta.begin(), beta.end());
  summary.gradient.assign(gradient.data(), gradient.data() + gradient.size());
  // Row-major p*p; the matrix is symmetric so column-major storage is the same.
  summary.information.assign(information.data(), information.data() + information.size());
  summary.weight_sum = weights_.sum();
  summary.num_observations = n;
  return summary;
}

}  // namespace scancov::stats
