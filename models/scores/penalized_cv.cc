#include "models/scores/penalized_cv.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/auc.h"
#include "models/stats/logistic_regression.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "penalized cv";

Eigen::MatrixXd Columns(const Eigen::MatrixXd& x, absl::Span<const int> columns) {
  Eigen::MatrixXd out(x.rows(), static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) out.col(j) = x.col(columns[j]);
  return out;
}

}  // namespace

absl::StatusOr<Standardization> FitStandardization(const Eigen::MatrixXd& x,
                                                   absl::Span<const int> rows) {
  const Eigen::Index k = x.cols();
  Standardization s;
  s.means = Eigen::VectorXd::Zero(k);
  s.scales = Eigen::VectorXd::Zero(k);
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no training rows"));
  for (Eigen::Index j = 0; j < k; ++j) {
    double sum = 0.0;
    int64_t observed = 0;
    for (int i : rows) {
      const double v = x(i, j);
      if (std::isinf(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(kWhere, ": row ", i, " column ", j, " is infinite"));
      }
      if (!std::isnan(v)) {
        sum += v;
        ++observed;
      }
    }
    if (observed == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": column ", j, " has no observed training value"));
    }
    const double mean = sum / static_cast<double>(observed);
    // Imputed values equal the mean, so only observed values add to the sum of squares.
    double squares = 0.0;
    for (int i : rows) {
      if (!std::isnan(x(i, j))) squares += (x(i, j) - mean) * (x(i, j) - mean);
    }
    s.means[j] = mean;
    s.scales[j] = std::sqrt(squares / static_cast<double>(rows.size()));
  }
  return s;
}

Eigen::MatrixXd ApplyStandardization(const Standardization& s, const Eigen::MatrixXd& x,
                                     absl::Span<const int> rows) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(rows.size()), x.cols());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const double v = x(rows[r], j);
      out(r, j) = (std::isnan(v) || s.scales[j] == 0.0) ? 0.0 : (v - s.means[j]) / s.scales[j];
    }
  }
  return out;
}

std::vector<double> LogGrid(double lo, double hi, int count) {
  std::vector<double> grid;
  const double a = std::log10(lo), b = std::log10(hi);
  for (int i = 0; i < count; ++i) grid.push_back(std::pow(10.0, a + (b - a) * i / (count - 1)));
  return grid;
}

absl::StatusOr<stats::LogisticFit> FitPenalized(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                double penalty) {
  stats::LogisticOptions options;
  options.l2_penalty = penalty;
  options.tolerance = 1e-8;  // AUCs and predictions need far less than the default
  return stats::FitLogistic(x, y, options);
}

absl::StatusOr<CrossValidation> CrossValidation::Create(const Eigen::MatrixXd& x,
                                                        const Eigen::VectorXd& y,
                                                        absl::Span<const int> folds,
                                                        int num_folds) {
  if (y.size() != x.rows() || folds.size() != static_cast<size_t>(x.rows()) || num_folds < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": x, y and folds must have the same rows; num_folds >= 2"));
  }
  std::vector<Fold> out;
  for (int f = 0; f < num_folds; ++f) {
    std::vector<int> train, test;
    for (int i = 0; i < x.rows(); ++i) (folds[i] == f ? test : train).push_back(i);
    Fold fold;
    SCV_ASSIGN_OR_RETURN(const Standardization s, FitStandardization(x, train));
    fold.train_x = ApplyStandardization(s, x, train);
    fold.test_x = ApplyStandardization(s, x, test);
    fold.train_y.resize(static_cast<Eigen::Index>(train.size()));
    for (size_t r = 0; r < train.size(); ++r) fold.train_y[r] = y[train[r]];
    double events = 0.0;
    for (int i : test) {
      fold.test_y.push_back(y[i]);
      events += y[i];
    }
    if (events == 0.0 || events == static_cast<double>(test.size())) {
      return absl::FailedPreconditionError(
          absl::StrCat(kWhere, ": fold ", f, " lacks one outcome class"));
    }
    out.push_back(std::move(fold));
  }
  return CrossValidation(std::move(out));
}

absl::StatusOr<double> CrossValidation::MeanAuc(absl::Span<const int> columns,
                                                double penalty) const {
  if (columns.empty()) return 0.5;
  double total = 0.0;
  for (const Fold& fold : folds_) {
    SCV_ASSIGN_OR_RETURN(const stats::LogisticFit fit,
                         FitPenalized(Columns(fold.train_x, columns), fold.train_y, penalty));
    const Eigen::VectorXd eta =
        Columns(fold.test_x, columns) * fit.coefficients.tail(fit.coefficients.size() - 1) +
        Eigen::VectorXd::Constant(fold.test_x.rows(), fit.coefficients[0]);
    const std::vector<double> scores(eta.data(), eta.data() + eta.size());
    SCV_ASSIGN_OR_RETURN(const double auc, stats::Auc(scores, fold.test_y));
    total += auc;
  }
  return total / static_cast<double>(folds_.size());
}

absl::StatusOr<PenaltyChoice> CrossValidation::BestPenalty(absl::Span<const int> columns,
                                                           absl::Span<const double> grid) const {
  if (grid.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": empty grid"));
  std::vector<double> descending(grid.begin(), grid.end());
  std::sort(descending.rbegin(), descending.rend());  // largest first: ties keep it
  PenaltyChoice best;
  bool any = false;
  for (double penalty : descending) {
    SCV_ASSIGN_OR_RETURN(const double auc, MeanAuc(columns, penalty));
    if (!any || auc > best.mean_auc) {
      best = {penalty, auc};
      any = true;
    }
  }
  return best;
}

}  // namespace scancov::scores
