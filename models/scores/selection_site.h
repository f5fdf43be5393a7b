// The site's side of the seed's multivariable pipeline run federated (selection_driver.h has
// the coordinator's side and the whole protocol). A site holds its own training table; it cuts
// its own cross-validation folds (stratified_folds.h, seeded by the study, so with one site the
// folds are the pooled pipeline's) and answers three kinds of request with aggregates only:
//
//  - Sums: for each part (the training part of fold 0..F-1, then part F = every row), the
//    number of rows and, per variable, the number of observed values and their sum.
//  - Squares: per part and variable, the sum of squared deviations of the observed values
//    from the part's pooled mean (sent by the coordinator). Two passes, as FitStandardization.
//  - Fits: for each requested model (a part, columns, coefficients), the logistic summary
//    (gradient, information, log-likelihood, counts: stats::LogisticSiteSummary) of the part's
//    rows standardised with the pooled parameters, and for a fold part also the AUC of the
//    model on the site's held-out fold and that fold's number of positive x negative pairs.
//
// Rows are visited in table order and standardised by penalized_cv.h's functions, so with one
// site every number is bit for bit the pooled pipeline's.
//
// Thread safety: immutable after Create; const methods may run concurrently.
#ifndef SCANCOV_MODELS_SCORES_SELECTION_SITE_H_
#define SCANCOV_MODELS_SCORES_SELECTION_SITE_H_

#include <cstdint>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "models/scores/multivariable_pipeline.h"
#include "models/scores/penalized_cv.h"
#include "models/stats/logistic_model.h"

namespace scancov::scores {

// Moments of one part's rows, one entry per table column.
struct PartMoments {
  int64_t rows = 0;
  std::vector<int64_t> observed;
  std::vector<double> sums;  // Sums(): sum of observed values; Squares(): sum of squares
};

// One model to evaluate: `part` in [0, F] (F = all rows), `columns` index the table's columns,
// `beta` has columns.size() + 1 values, intercept first.
struct ModelRequest {
  int part = 0;
  std::vector<int> columns;
  std::vector<double> beta;
};

struct ModelSiteResult {
  stats::LogisticSiteSummary summary;
  double auc = 0.5;    // held-out AUC at beta (fold parts only; 0.5 for part F)
  double pairs = 0.0;  // held-out positives x negatives (0 for part F)
};

class SelectionSite {
 public:
  // `table` as for FitMultivariableModel; folds from options (num_folds, num_age_bins, seed,
  // age_variable). Errors as StratifiedFolds (e.g. FailedPrecondition: an outcome class smaller
  // than the number of folds) and InvalidArgument for a malformed table or an infinite value.
  //
  // Small counts: FailedPrecondition unless every held-out fold has at least `min_cell_count`
  // events and `min_cell_count` non-events (a fold's AUC and pairs would describe a handful of
  // patients). A column observed in some but fewer than `min_cell_count` rows of a held-out
  // fold or of a training part is treated as missing in every row of this site (listed by
  // suppressed()). Otherwise the difference of two parts' sums would be the sum of a few
  // patients' values, possibly one patient's value.
  static absl::StatusOr<SelectionSite> Create(TrainingTable table, const PipelineOptions& options,
                                              int64_t min_cell_count = 0);

  int num_parts() const { return num_folds_ + 1; }
  int64_t num_rows() const { return table_.values.rows(); }
  int num_columns() const { return static_cast<int>(table_.values.cols()); }
  int64_t num_events() const;
  const std::vector<std::string>& suppressed() const { return suppressed_; }

  std::vector<PartMoments> Sums() const;
  // `means`: one vector of table-width per part. InvalidArgument for a wrong shape.
  absl::StatusOr<std::vector<PartMoments>> Squares(const std::vector<Eigen::VectorXd>& means) const;
  // `parts`: one standardisation of table width per part. InvalidArgument for a bad request;
  // fit errors from models/stats.
  absl::StatusOr<std::vector<ModelSiteResult>> Evaluate(
      const std::vector<Standardization>& parts, const std::vector<ModelRequest>& models) const;

 private:
  SelectionSite(TrainingTable table, std::vector<int> folds, int num_folds);
  // Rows of part p in table order: outside fold p, or every row for p == num_folds_.
  const std::vector<int>& TrainRows(int part) const { return train_rows_[part]; }

  TrainingTable table_;
  std::vector<int> folds_;
  int num_folds_;
  std::vector<std::vector<int>> train_rows_;  // per part
  std::vector<std::vector<int>> test_rows_;   // per fold
  std::vector<std::string> suppressed_;
};

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_SELECTION_SITE_H_
