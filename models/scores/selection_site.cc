#include "models/scores/selection_site.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/stratified_folds.h"
#include "models/stats/auc.h"
#include "models/stats/logistic_site.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "selection site";

Eigen::MatrixXd Columns(const Eigen::MatrixXd& x, const std::vector<int>& columns) {
  Eigen::MatrixXd out(x.rows(), static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) out.col(j) = x.col(columns[j]);
  return out;
}

absl::StatusOr<std::vector<int>> Folds(const TrainingTable& table, const PipelineOptions& options) {
  const auto it = std::find(table.variables.begin(), table.variables.end(), options.age_variable);
  std::vector<double> age;
  if (it != table.variables.end()) {
    const Eigen::VectorXd column = table.values.col(it - table.variables.begin());
    age.assign(column.data(), column.data() + column.size());
  }
  const std::vector<double> outcome(table.outcome.data(),
                                    table.outcome.data() + table.outcome.size());
  return StratifiedFolds(outcome, age, {options.num_folds, options.num_age_bins, options.seed});
}

// A part's rows standardised, with their outcomes.
struct PartData {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
};

PartData Standardise(const TrainingTable& table, const Standardization& s,
                     const std::vector<int>& rows) {
  PartData d{ApplyStandardization(s, table.values, rows),
             Eigen::VectorXd(static_cast<Eigen::Index>(rows.size()))};
  for (size_t r = 0; r < rows.size(); ++r) d.y[r] = table.outcome[rows[r]];
  return d;
}

absl::Status CheckModel(const ModelRequest& m, int num_parts, Eigen::Index width) {
  if (m.part < 0 || m.part >= num_parts || m.columns.empty() ||
      m.beta.size() != m.columns.size() + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": a model needs a part in [0, ", num_parts,
                     "), columns and one coefficient per column plus the intercept"));
  }
  for (int c : m.columns) {
    if (c < 0 || c >= width) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": column ", c, " out of range"));
    }
  }
  return absl::OkStatus();
}

bool SmallCount(int64_t count, int64_t min_cell_count) {
  return count > 0 && count < min_cell_count;
}

// Blanks the columns whose observed count in a fold or a training part is small; their names.
std::vector<std::string> SuppressSmallCounts(TrainingTable& table, const std::vector<int>& folds,
                                             int num_folds, int64_t min_cell_count) {
  std::vector<std::string> suppressed;
  for (Eigen::Index j = 0; j < table.values.cols(); ++j) {
    std::vector<int64_t> in_fold(num_folds, 0);
    int64_t total = 0;
    for (Eigen::Index i = 0; i < table.values.rows(); ++i) {
      if (std::isnan(table.values(i, j))) continue;
      ++in_fold[folds[i]];
      ++total;
    }
    bool small = SmallCount(total, min_cell_count);
    for (int64_t c : in_fold) {
      small = small || SmallCount(c, min_cell_count) || SmallCount(total - c, min_cell_count);
    }
    if (!small) continue;
    table.values.col(j).setConstant(std::nan(""));
    suppressed.push_back(table.variables[j]);
  }
  return suppressed;
}

// FailedPrecondition unless every held-out fold has at least `min_cell_count` events and as
// many non-events: a fold's AUC, its pairs and the differences of parts' event counts describe
// its patients, which for a fold of one event and one non-event means which of the two has the
// higher value. (A training part then has at least as many of each.)
absl::Status CheckFoldCounts(const Eigen::VectorXd& outcome, const std::vector<int>& folds,
                             int num_folds, int64_t min_cell_count) {
  std::vector<int64_t> events(num_folds, 0), non_events(num_folds, 0);
  for (Eigen::Index i = 0; i < outcome.size(); ++i) {
    ++(outcome[i] == 1.0 ? events : non_events)[folds[i]];
  }
  for (int f = 0; f < num_folds; ++f) {
    if (events[f] < min_cell_count || non_events[f] < min_cell_count) {
      return absl::FailedPreconditionError(
          absl::StrCat(kWhere, ": a held-out fold has fewer than ", min_cell_count,
                       " events or non-events (the minimum cell count)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

SelectionSite::SelectionSite(TrainingTable table, std::vector<int> folds, int num_folds)
    : table_(std::move(table)),
      folds_(std::move(folds)),
      num_folds_(num_folds),
      train_rows_(num_folds + 1),
      test_rows_(num_folds) {
  for (int i = 0; i < static_cast<int>(folds_.size()); ++i) {
    for (int f = 0; f < num_folds_; ++f)
      (folds_[i] == f ? test_rows_[f] : train_rows_[f]).push_back(i);
    train_rows_[num_folds_].push_back(i);
  }
}

absl::StatusOr<SelectionSite> SelectionSite::Create(TrainingTable table,
                                                    const PipelineOptions& options,
                                                    int64_t min_cell_count) {
  const Eigen::Index n = table.values.rows();
  if (n == 0 || table.values.cols() != static_cast<Eigen::Index>(table.variables.size()) ||
      table.outcome.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": table needs rows, one name per column and one outcome per row"));
  }
  if (table.values.array().isInf().any()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": a value is infinite"));
  }
  SCV_ASSIGN_OR_RETURN(std::vector<int> folds, Folds(table, options));
  SCV_RETURN_IF_ERROR(CheckFoldCounts(table.outcome, folds, options.num_folds, min_cell_count));
  std::vector<std::string> suppressed =
      SuppressSmallCounts(table, folds, options.num_folds, min_cell_count);
  SelectionSite site(std::move(table), std::move(folds), options.num_folds);
  site.suppressed_ = std::move(suppressed);
  return site;
}

int64_t SelectionSite::num_events() const {
  return static_cast<int64_t>((table_.outcome.array() == 1.0).count());
}

std::vector<PartMoments> SelectionSite::Sums() const {
  const Eigen::Index k = table_.values.cols();
  std::vector<PartMoments> out;
  for (int p = 0; p < num_parts(); ++p) {
    PartMoments m{static_cast<int64_t>(TrainRows(p).size()), std::vector<int64_t>(k, 0),
                  std::vector<double>(k, 0.0)};
    for (Eigen::Index j = 0; j < k; ++j) {
      for (int i : TrainRows(p)) {  // table order, as FitStandardization
        const double v = table_.values(i, j);
        if (std::isnan(v)) continue;
        m.sums[j] += v;
        ++m.observed[j];
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<PartMoments>> SelectionSite::Squares(
    const std::vector<Eigen::VectorXd>& means) const {
  const Eigen::Index k = table_.values.cols();
  if (static_cast<int>(means.size()) != num_parts()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": expected ", num_parts(), " parts"));
  }
  std::vector<PartMoments> out = Sums();
  for (int p = 0; p < num_parts(); ++p) {
    if (means[p].size() != k) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": part ", p, ": wrong width"));
    }
    for (Eigen::Index j = 0; j < k; ++j) {
      double squares = 0.0;
      for (int i : TrainRows(p)) {
        const double v = table_.values(i, j);
        if (!std::isnan(v)) squares += (v - means[p][j]) * (v - means[p][j]);
      }
      out[p].sums[j] = squares;
    }
  }
  return out;
}

absl::StatusOr<std::vector<ModelSiteResult>> SelectionSite::Evaluate(
    const std::vector<Standardization>& parts, const std::vector<ModelRequest>& models) const {
  const Eigen::Index k = table_.values.cols();
  if (static_cast<int>(parts.size()) != num_parts()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": expected ", num_parts(), " parts"));
  }
  for (const Standardization& s : parts) {
    if (s.means.size() != k || s.scales.size() != k) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": standardisation of wrong width"));
    }
  }
  std::vector<std::optional<PartData>> train(num_parts()), test(num_folds_);
  std::vector<ModelSiteResult> out;
  for (const ModelRequest& m : models) {
    SCV_RETURN_IF_ERROR(CheckModel(m, num_parts(), k));
    if (!train[m.part]) train[m.part] = Standardise(table_, parts[m.part], TrainRows(m.part));
    SCV_ASSIGN_OR_RETURN(
        const stats::LogisticSiteData data,
        stats::LogisticSiteData::Create(Columns(train[m.part]->x, m.columns), train[m.part]->y,
                                        stats::LogisticOptions{}));
    ModelSiteResult r;
    SCV_ASSIGN_OR_RETURN(r.summary, data.Evaluate(m.beta));
    if (m.part < num_folds_) {
      if (!test[m.part]) test[m.part] = Standardise(table_, parts[m.part], test_rows_[m.part]);
      const PartData& held_out = *test[m.part];
      const Eigen::VectorXd beta = Eigen::Map<const Eigen::VectorXd>(
          m.beta.data(), static_cast<Eigen::Index>(m.beta.size()));
      // The same expression as CrossValidation::MeanAuc, so one site reproduces it exactly.
      const Eigen::VectorXd eta = Columns(held_out.x, m.columns) * beta.tail(beta.size() - 1) +
                                  Eigen::VectorXd::Constant(held_out.x.rows(), beta[0]);
      const std::vector<double> scores(eta.data(), eta.data() + eta.size());
      const std::vector<double> labels(held_out.y.data(), held_out.y.data() + held_out.y.size());
      SCV_ASSIGN_OR_RETURN(r.auc, stats::Auc(scores, labels));
      const double positives = static_cast<double>((held_out.y.array() == 1.0).count());
      r.pairs = positives * (static_cast<double>(held_out.y.size()) - positives);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace scancov::scores
