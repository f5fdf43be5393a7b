// The seed's multivariable model building (Lassau et al. 2021, Methods "Multivariate models to
// predict severity" and Supp Fig 6), on one training table:
//
//  1. Sparse variables dropped: a variable observed for fewer than `min_observed` (300) training
//     patients is not used. A variable constant on the training patients is dropped too.
//  2. Folds: `num_folds` (5) folds stratified by age (binned at quartiles) and outcome
//     (stratified_folds.h), from `seed`.
//  3. Every model below is an L2-penalised logistic regression on mean-imputed, standardised
//     variables, imputation means and standardisation learnt on the training part only (inside
//     each fold for the cross-validation, on the whole table for the final fit;
//     penalized_cv.h). Its penalty is chosen in `penalty_grid` (default 9 values log-spaced
//     0.01..100) by the mean held-out AUC over the folds.
//  4. Forward greedy selection: starting from `initial_variables` (e.g. the CT variables, as
//     for the seed's trimodal models; empty by default), each step adds the candidate whose
//     model has the largest mean CV AUC (each candidate with its own best penalty; ties go to
//     the earlier variable in table order).
//  5. Elbow rule: the selection stops, without adding it, when the best candidate improves the
//     mean CV AUC by less than `min_auc_gain` (0.005) over the current model, or when
//     `max_variables` are selected. The seed picked "the parsimonious set of variables found when
//     a plateau of AUC is reached" by eye; this makes that plateau rule explicit. The first
//     variable is always added (the intercept-only model has AUC 0.5).
//  6. Final model: the selected variables, penalty re-chosen on the folds, fitted on all rows.
//
// Deterministic: the same table, options and seed give the same model.
// Cost: about (candidates x steps x grid x folds) penalised fits; see `penalty_grid` and
// `max_variables` to bound it.
//
// Thread safety: FitMultivariableModel is a pure function; MultivariableModel is immutable.
#ifndef SCANCOV_MODELS_SCORES_MULTIVARIABLE_PIPELINE_H_
#define SCANCOV_MODELS_SCORES_MULTIVARIABLE_PIPELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/penalized_cv.h"

namespace scancov::scores {

// A training table: raw values in canonical units, NaN for missing.
struct TrainingTable {
  std::vector<std::string> variables;  // k distinct column names
  Eigen::MatrixXd values;              // n x k
  Eigen::VectorXd outcome;             // n values 0/1
};

struct PipelineOptions {
  int64_t min_observed = 300;
  std::vector<double> penalty_grid = LogGrid(0.01, 100.0, 9);
  int num_folds = 5;
  int num_age_bins = 4;
  // The stratification column; when the table has no such column, folds are stratified by
  // outcome only.
  std::string age_variable = "age";
  uint64_t seed = 0;
  std::vector<std::string> initial_variables;  // always in the model, selected first
  double min_auc_gain = 0.005;
  int max_variables = 20;
};

struct SelectionStep {
  std::string variable;   // the variable added at this step
  double mean_auc = 0.0;  // mean CV AUC of the model after adding it
  double penalty = 0.0;   // its best penalty
};

class MultivariableModel {
 public:
  const std::vector<std::string>& variables() const { return variables_; }
  // Raw-unit imputation means (= centres) and standardisation scales, one per variable.
  const Standardization& standardization() const { return standardization_; }
  double intercept() const { return intercept_; }
  // Coefficients on the standardised variables.
  const Eigen::VectorXd& coefficients() const { return coefficients_; }
  double penalty() const { return penalty_; }
  double cv_auc() const { return cv_auc_; }  // mean CV AUC of the final variable set

  // The selection path (one step per selected variable, initial variables first) and the
  // best candidate the elbow rule refused (absent when none was left or max_variables hit).
  const std::vector<SelectionStep>& path() const { return path_; }
  const std::optional<SelectionStep>& rejected() const { return rejected_; }
  const std::vector<std::string>& dropped_sparse() const { return dropped_sparse_; }
  const std::vector<std::string>& dropped_constant() const { return dropped_constant_; }

  // P(outcome) for one patient; `values` aligned with variables(), NaN = missing (imputed
  // with the training mean, as in training). InvalidArgument for a wrong length or an
  // infinite value.
  absl::StatusOr<double> PredictRow(absl::Span<const double> values) const;
  // The same from named inputs: a missing variable is imputed; a variable with an entry in
  // InputSpecs() is checked for plausibility first (InvalidArgument). `imputed`, when given,
  // receives the names of the imputed variables.
  absl::StatusOr<double> Predict(const PatientInputs& inputs,
                                 std::vector<std::string>* imputed = nullptr) const;
  // Every row of a table that has (at least) this model's variables, by name.
  absl::StatusOr<std::vector<double>> PredictTable(const TrainingTable& table) const;

 private:
  friend absl::StatusOr<MultivariableModel> FitMultivariableModel(const TrainingTable&,
                                                                  const PipelineOptions&);
  MultivariableModel() = default;

  std::vector<std::string> variables_;
  Standardization standardization_;
  double intercept_ = 0.0;
  Eigen::VectorXd coefficients_;
  double penalty_ = 1.0;
  double cv_auc_ = 0.5;
  std::vector<SelectionStep> path_;
  std::optional<SelectionStep> rejected_;
  std::vector<std::string> dropped_sparse_;
  std::vector<std::string> dropped_constant_;
};

// Errors: InvalidArgument (malformed table or options, an unknown initial variable or one that
// was dropped as sparse, a missing outcome), FailedPrecondition (no usable variable, an
// outcome class smaller than the number of folds), fit errors from models/stats.
absl::StatusOr<MultivariableModel> FitMultivariableModel(const TrainingTable& table,
                                                         const PipelineOptions& options = {});

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_MULTIVARIABLE_PIPELINE_H_
