#include "models/scores/multivariable_pipeline.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/linear_model.h"
#include "models/scores/stratified_folds.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "multivariable pipeline";

absl::Status CheckTable(const TrainingTable& table, const PipelineOptions& options) {
  const Eigen::Index n = table.values.rows();
  if (n == 0 || table.values.cols() != static_cast<Eigen::Index>(table.variables.size()) ||
      table.outcome.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": table needs rows, one name per column and one outcome per row"));
  }
  if (std::set<std::string>(table.variables.begin(), table.variables.end()).size() !=
      table.variables.size()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": duplicate variable names"));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (table.outcome[i] != 0.0 && table.outcome[i] != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": outcome ", i, " is not 0/1 (missing outcomes must be removed)"));
    }
  }
  if (options.penalty_grid.empty() || options.min_auc_gain < 0.0 || options.max_variables < 1 ||
      options.min_observed < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": need a penalty grid, min_auc_gain >= 0, max_variables and min_observed >= 1"));
  }
  for (double p : options.penalty_grid) {
    if (!(p > 0.0) || !std::isfinite(p)) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": penalties must be > 0"));
    }
  }
  return absl::OkStatus();
}

int IndexOf(const std::vector<std::string>& names, absl::string_view name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

// The usable columns (enough observations, not constant), in table order.
std::vector<int> UsableColumns(const TrainingTable& table, const PipelineOptions& options,
                               std::vector<std::string>& sparse, std::vector<std::string>& flat) {
  std::vector<int> usable;
  for (Eigen::Index j = 0; j < table.values.cols(); ++j) {
    int64_t observed = 0;
    double first = std::nan(""), spread = 0.0;
    for (Eigen::Index i = 0; i < table.values.rows(); ++i) {
      const double v = table.values(i, j);
      if (std::isnan(v)) continue;
      ++observed;
      if (std::isnan(first)) first = v;
      spread = std::max(spread, std::fabs(v - first));
    }
    if (observed < options.min_observed) {
      sparse.push_back(table.variables[j]);
    } else if (spread == 0.0) {
      flat.push_back(table.variables[j]);
    } else {
      usable.push_back(static_cast<int>(j));
    }
  }
  return usable;
}

// Forward selection with the elbow rule; fills the model's path and rejected step.
absl::Status Select(const CrossValidation& cv, const TrainingTable& table,
                    const PipelineOptions& options, std::vector<int> candidates,
                    std::vector<int>& selected, std::vector<SelectionStep>& path,
                    std::optional<SelectionStep>& rejected) {
  double current_auc = 0.5;
  for (int column : selected) {  // the initial variables, in the given order
    std::vector<int> trial(selected.begin(), selected.begin() + path.size() + 1);
    SCV_ASSIGN_OR_RETURN(const PenaltyChoice c, cv.BestPenalty(trial, options.penalty_grid));
    path.push_back({table.variables[column], c.mean_auc, c.penalty});
    current_auc = c.mean_auc;
  }
  while (!candidates.empty() && static_cast<int>(selected.size()) < options.max_variables) {
    std::optional<SelectionStep> best;
    size_t best_index = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
      std::vector<int> trial = selected;
      trial.push_back(candidates[c]);
      SCV_ASSIGN_OR_RETURN(const PenaltyChoice choice, cv.BestPenalty(trial, options.penalty_grid));
      if (!best.has_value() || choice.mean_auc > best->mean_auc) {
        best = SelectionStep{table.variables[candidates[c]], choice.mean_auc, choice.penalty};
        best_index = c;
      }
    }
    if (!selected.empty() && best->mean_auc - current_auc < options.min_auc_gain) {
      rejected = best;
      break;
    }
    selected.push_back(candidates[best_index]);
    candidates.erase(candidates.begin() + best_index);
    path.push_back(*best);
    current_auc = best->mean_auc;
  }
  return absl::OkStatus();
}

Eigen::MatrixXd SelectColumns(const Eigen::MatrixXd& x, const std::vector<int>& columns) {
  Eigen::MatrixXd out(x.rows(), static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) out.col(j) = x.col(columns[j]);
  return out;
}

// Moves the initial variables from `candidates` to `selected`, in the given order.
absl::Status TakeInitialVariables(const TrainingTable& table, const PipelineOptions& options,
                                  std::vector<int>& candidates, std::vector<int>& selected) {
  for (const std::string& name : options.initial_variables) {
    const int j = IndexOf(table.variables, name);
    const auto it = std::find(candidates.begin(), candidates.end(), j);
    if (j < 0 || it == candidates.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": initial variable ", name, " is not in the table or was dropped"));
    }
    selected.push_back(j);
    candidates.erase(it);
  }
  if (candidates.empty() && selected.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": no usable variable"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> Folds(const TrainingTable& table, const PipelineOptions& options) {
  const int age_column = IndexOf(table.variables, options.age_variable);
  std::vector<double> age;
  if (age_column >= 0) {
    age.assign(table.values.col(age_column).data(),
               table.values.col(age_column).data() + table.values.rows());
  }
  const std::vector<double> outcome(table.outcome.data(),
                                    table.outcome.data() + table.outcome.size());
  return StratifiedFolds(outcome, age, {options.num_folds, options.num_age_bins, options.seed});
}

}  // namespace

absl::StatusOr<MultivariableModel> FitMultivariableModel(const TrainingTable& table,
                                                         const PipelineOptions& options) {
  SCV_RETURN_IF_ERROR(CheckTable(table, options));
  MultivariableModel model;
  std::vector<int> candidates =
      UsableColumns(table, options, model.dropped_sparse_, model.dropped_constant_);
  std::vector<int> selected;
  SCV_RETURN_IF_ERROR(TakeInitialVariables(table, options, candidates, selected));
  SCV_ASSIGN_OR_RETURN(const std::vector<int> folds, Folds(table, options));
  SCV_ASSIGN_OR_RETURN(
      const CrossValidation cv,
      CrossValidation::Create(table.values, table.outcome, folds, options.num_folds));
  SCV_RETURN_IF_ERROR(
      Select(cv, table, options, std::move(candidates), selected, model.path_, model.rejected_));

  // The final model: the selected variables, penalty re-chosen, fitted on every row.
  SCV_ASSIGN_OR_RETURN(const PenaltyChoice choice, cv.BestPenalty(selected, options.penalty_grid));
  const Eigen::MatrixXd x = SelectColumns(table.values, selected);
  std::vector<int> all_rows(static_cast<size_t>(x.rows()));
  std::iota(all_rows.begin(), all_rows.end(), 0);
  SCV_ASSIGN_OR_RETURN(model.standardization_, FitStandardization(x, all_rows));
  SCV_ASSIGN_OR_RETURN(const stats::LogisticFit fit,
                       FitPenalized(ApplyStandardization(model.standardization_, x, all_rows),
                                    table.outcome, choice.penalty));
  for (int j : selected) model.variables_.push_back(table.variables[j]);
  model.intercept_ = fit.coefficients[0];
  model.coefficients_ = fit.coefficients.tail(fit.coefficients.size() - 1);
  model.penalty_ = choice.penalty;
  model.cv_auc_ = choice.mean_auc;
  return model;
}

absl::StatusOr<double> MultivariableModel::PredictRow(absl::Span<const double> values) const {
  if (values.size() != variables_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": expected ", variables_.size(), " values, got ", values.size()));
  }
  double eta = intercept_;
  for (size_t j = 0; j < values.size(); ++j) {
    const double v = values[j];
    if (std::isinf(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": ", variables_[j], " is not finite"));
    }
    const double scale = standardization_.scales[j];
    if (!std::isnan(v) && scale > 0.0) {
      eta += coefficients_[j] * (v - standardization_.means[j]) / scale;
    }
  }
  return Sigmoid(eta);
}

absl::StatusOr<double> MultivariableModel::Predict(const PatientInputs& inputs,
                                                   std::vector<std::string>* imputed) const {
  std::vector<double> row;
  if (imputed != nullptr) imputed->clear();
  for (const std::string& name : variables_) {
    const std::optional<double> value = inputs.Get(name);
    if (value.has_value() && FindInputSpec(name) != nullptr) {
      SCV_RETURN_IF_ERROR(CheckInputValue(*FindInputSpec(name), *value, kWhere));
    }
    if (!value.has_value() && imputed != nullptr) imputed->push_back(name);
    row.push_back(value.value_or(std::nan("")));
  }
  return PredictRow(row);
}

absl::StatusOr<std::vector<double>> MultivariableModel::PredictTable(
    const TrainingTable& table) const {
  std::vector<int> columns;
  for (const std::string& name : variables_) {
    const int j = IndexOf(table.variables, name);
    if (j < 0) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": table lacks ", name));
    }
    columns.push_back(j);
  }
  std::vector<double> out;
  std::vector<double> row(columns.size());
  for (Eigen::Index i = 0; i < table.values.rows(); ++i) {
    for (size_t j = 0; j < columns.size(); ++j) row[j] = table.values(i, columns[j]);
    SCV_ASSIGN_OR_RETURN(const double p, PredictRow(row));
    out.push_back(p);
  }
  return out;
}

}  // namespace scancov::scores
