// The building blocks of the seed's multivariable models (multivariable_pipeline.h): mean
// imputation and standardisation learnt on training rows only, and the mean held-out AUC of an
// L2-penalised logistic regression over cross-validation folds.
//
// Preprocessing (as scikit-learn's SimpleImputer(mean) followed by StandardScaler): a missing
// value (NaN) is replaced by the mean of the column's observed training values; the column is
// then centred on that mean and divided by the population SD (ddof 0) of the imputed training
// column. A column constant on the training rows has scale 0 and is set to 0 (it then carries
// no information; the penalty keeps the fit well defined).
//
// Penalty: LogisticOptions::l2_penalty lambda on the standardised coefficients, intercept not
// penalised; lambda = 1 / C for scikit-learn's LogisticRegression(C). The grid 0.01..100 is the
// same whether read as C or as lambda.
//
// Thread safety: CrossValidation is immutable after Create; MeanAuc and BestPenalty are const
// and may run concurrently.
#ifndef SCANCOV_MODELS_SCORES_PENALIZED_CV_H_
#define SCANCOV_MODELS_SCORES_PENALIZED_CV_H_

#include <vector>

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/stats/logistic_model.h"

namespace scancov::scores {

struct Standardization {
  Eigen::VectorXd means;   // imputation value = centre, raw units
  Eigen::VectorXd scales;  // SD of the imputed training column; 0 for a constant column
};

// Learnt on `rows` of `x` (n x k, NaN = missing). InvalidArgument when a column has no observed
// value on those rows, or a value is infinite.
absl::StatusOr<Standardization> FitStandardization(const Eigen::MatrixXd& x,
                                                   absl::Span<const int> rows);

// `rows` of `x`, imputed and standardised (missing -> 0, constant columns -> 0).
Eigen::MatrixXd ApplyStandardization(const Standardization& s, const Eigen::MatrixXd& x,
                                     absl::Span<const int> rows);

// The log-spaced grid from `lo` to `hi` with `count` values (count >= 2).
std::vector<double> LogGrid(double lo, double hi, int count);

// A penalised logistic fit on standardised columns. Fit errors as FitLogistic.
absl::StatusOr<stats::LogisticFit> FitPenalized(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                double penalty);

struct PenaltyChoice {
  double penalty = 1.0;
  double mean_auc = 0.5;
};

class CrossValidation {
 public:
  // `x` n x k raw values (NaN missing), `y` 0/1, `folds` n values in [0, num_folds). Each fold's
  // preprocessing is learnt on the other folds. InvalidArgument for bad inputs;
  // FailedPrecondition when a held-out fold lacks one outcome class.
  static absl::StatusOr<CrossValidation> Create(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                absl::Span<const int> folds, int num_folds);

  // Mean over folds of the held-out AUC of the fit on `columns` (indices into x's columns;
  // empty: intercept only, AUC 0.5) with `penalty`.
  absl::StatusOr<double> MeanAuc(absl::Span<const int> columns, double penalty) const;

  // The penalty of `grid` with the best MeanAuc; ties go to the largest penalty.
  absl::StatusOr<PenaltyChoice> BestPenalty(absl::Span<const int> columns,
                                            absl::Span<const double> grid) const;

 private:
  struct Fold {
    Eigen::MatrixXd train_x;  // standardised on the training part
    Eigen::VectorXd train_y;
    Eigen::MatrixXd test_x;  // standardised with the training part's parameters
    std::vector<double> test_y;
  };
  explicit CrossValidation(std::vector<Fold> folds) : folds_(std::move(folds)) {}

  std::vector<Fold> folds_;
};

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_PENALIZED_CV_H_
