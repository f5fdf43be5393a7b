#include "models/scores/selection_driver.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "federated selection";

// FitPenalized's options with the model's penalty.
stats::LogisticOptions FitOptions(double penalty) {
  stats::LogisticOptions options;
  options.l2_penalty = penalty;
  options.tolerance = kSelectionFitTolerance;
  return options;
}

absl::Status SameShape(const PartMoments& a, const PartMoments& b) {
  if (a.observed.size() != b.observed.size() || a.sums.size() != b.sums.size() ||
      a.observed.size() != a.sums.size()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": sites' moments differ in shape"));
  }
  return absl::OkStatus();
}

void AddSummary(const stats::LogisticSiteSummary& s, stats::LogisticSiteSummary& total) {
  for (size_t k = 0; k < total.gradient.size(); ++k) total.gradient[k] += s.gradient[k];
  for (size_t k = 0; k < total.information.size(); ++k) total.information[k] += s.information[k];
  total.log_likelihood += s.log_likelihood;
  total.weight_sum += s.weight_sum;
  total.num_observations += s.num_observations;
  total.num_events += s.num_events;
  total.num_perfectly_fitted += s.num_perfectly_fitted;
}

}  // namespace

absl::StatusOr<std::vector<PartMoments>> PoolMoments(
    const std::vector<std::vector<PartMoments>>& sites) {
  if (sites.empty()) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": no sites"));
  std::vector<PartMoments> total = sites[0];
  for (size_t s = 1; s < sites.size(); ++s) {
    if (sites[s].size() != total.size()) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": sites differ in parts"));
    }
    for (size_t p = 0; p < total.size(); ++p) {
      SCV_RETURN_IF_ERROR(SameShape(sites[s][p], total[p]));
      total[p].rows += sites[s][p].rows;
      for (size_t j = 0; j < total[p].sums.size(); ++j) {
        total[p].observed[j] += sites[s][p].observed[j];
        total[p].sums[j] += sites[s][p].sums[j];
      }
    }
  }
  return total;
}

absl::StatusOr<std::vector<ModelSiteResult>> PoolModelResults(
    const std::vector<std::vector<ModelSiteResult>>& sites) {
  if (sites.empty()) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": no sites"));
  const size_t m = sites[0].size();
  std::vector<ModelSiteResult> total(m);
  for (size_t i = 0; i < m; ++i) {
    double pairs = 0.0;
    for (const auto& site : sites) {
      if (site.size() != m) {
        return absl::InvalidArgumentError(absl::StrCat(kWhere, ": sites differ in models"));
      }
      const stats::LogisticSiteSummary& s = site[i].summary;
      if (s.beta != sites[0][i].summary.beta ||
          s.gradient.size() != sites[0][i].summary.gradient.size() ||
          s.information.size() != sites[0][i].summary.information.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(kWhere, ": model ", i, ": sites evaluated other coefficients"));
      }
      pairs += site[i].pairs;
    }
    total[i].summary = sites[0][i].summary;
    for (size_t s = 1; s < sites.size(); ++s) AddSummary(sites[s][i].summary, total[i].summary);
    total[i].pairs = pairs;
    total[i].auc = 0.0;
    // Pair-weighted; weight first, so one site gives (p / p) * auc = auc exactly.
    for (const auto& site : sites) {
      total[i].auc += pairs > 0.0 ? (site[i].pairs / pairs) * site[i].auc : 0.0;
    }
    if (!(pairs > 0.0)) total[i].auc = 0.5;
  }
  return total;
}

SelectionDriver::SelectionDriver(std::vector<std::string> variables, PipelineOptions options)
    : variables_(std::move(variables)), options_(std::move(options)) {}

absl::StatusOr<SelectionDriver> SelectionDriver::Create(std::vector<std::string> variables,
                                                        PipelineOptions options) {
  if (variables.empty() ||
      std::set<std::string>(variables.begin(), variables.end()).size() != variables.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": need distinct variable names, at least one"));
  }
  if (options.penalty_grid.empty() || options.min_auc_gain < 0.0 || options.max_variables < 1 ||
      options.min_observed < 1 || options.num_folds < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere,
        ": need a penalty grid, min_auc_gain >= 0, max_variables and min_observed >= 1, "
        "num_folds >= 2"));
  }
  for (double p : options.penalty_grid) {
    if (!(p > 0.0) || !std::isfinite(p)) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": penalties must be > 0"));
    }
  }
  return SelectionDriver(std::move(variables), std::move(options));
}

std::string SelectionDriver::stage() const {
  switch (stage_) {
    case Stage::kSums:
      return "sums";
    case Stage::kSquares:
      return "squares";
    case Stage::kInitial:
      return "initial";
    case Stage::kGreedy:
      return absl::StrCat("step ", step_);
    case Stage::kFinal:
      return "final";
    case Stage::kDone:
      return "done";
  }
  return "";
}

absl::Status SelectionDriver::CheckMoments(const std::vector<PartMoments>& pooled) const {
  if (static_cast<int>(pooled.size()) != num_parts()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": expected ", num_parts(), " parts"));
  }
  for (const PartMoments& m : pooled) {
    if (m.observed.size() != variables_.size() || m.sums.size() != variables_.size() ||
        m.rows <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": moments of the wrong shape"));
    }
  }
  return absl::OkStatus();
}

absl::Status SelectionDriver::AddSums(const std::vector<PartMoments>& pooled) {
  if (stage_ != Stage::kSums) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": sums not expected now"));
  }
  SCV_RETURN_IF_ERROR(CheckMoments(pooled));
  sums_ = pooled;
  request_ = {SelectionRequest::Kind::kSquares, {}, {}};
  for (const PartMoments& m : sums_) {
    Standardization s{Eigen::VectorXd::Zero(variables_.size()),
                      Eigen::VectorXd::Zero(variables_.size())};
    for (size_t j = 0; j < variables_.size(); ++j) {
      // As FitStandardization: mean of the observed values (0 where none; such a column is
      // either dropped as sparse or refused in ChooseColumns).
      if (m.observed[j] > 0) s.means[j] = m.sums[j] / static_cast<double>(m.observed[j]);
    }
    request_.parts.push_back(std::move(s));
  }
  stage_ = Stage::kSquares;
  return absl::OkStatus();
}

absl::Status SelectionDriver::AddSquares(const std::vector<PartMoments>& pooled) {
  if (stage_ != Stage::kSquares) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": squares not expected now"));
  }
  SCV_RETURN_IF_ERROR(CheckMoments(pooled));
  parts_ = request_.parts;
  for (int p = 0; p < num_parts(); ++p) {
    if (pooled[p].rows != sums_[p].rows || pooled[p].observed != sums_[p].observed) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": squares from other rows than the sums (part ", p, ")"));
    }
    for (size_t j = 0; j < variables_.size(); ++j) {
      parts_[p].scales[j] = std::sqrt(pooled[p].sums[j] / static_cast<double>(pooled[p].rows));
    }
  }
  return ChooseColumns();
}

absl::Status SelectionDriver::ChooseColumns() {
  const PartMoments& all = sums_.back();
  const Standardization& whole = parts_.back();
  for (size_t j = 0; j < variables_.size(); ++j) {
    if (all.observed[j] < options_.min_observed) {
      result_.dropped_sparse.push_back(variables_[j]);
    } else if (whole.scales[j] <= 1e-12 * (1.0 + std::fabs(whole.means[j]))) {
      result_.dropped_constant.push_back(variables_[j]);
    } else {
      candidates_.push_back(static_cast<int>(j));
    }
  }
  for (int j : candidates_) {
    for (int p = 0; p < num_parts(); ++p) {
      if (sums_[p].observed[j] == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            kWhere, ": ", variables_[j], " has no observed value in training part ", p));
      }
    }
  }
  for (const std::string& name : options_.initial_variables) {
    const auto named = std::find(variables_.begin(), variables_.end(), name);
    const int j = named == variables_.end() ? -1 : static_cast<int>(named - variables_.begin());
    const auto it = std::find(candidates_.begin(), candidates_.end(), j);
    if (it == candidates_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": initial variable ", name, " is not in the table or was dropped"));
    }
    initial_.push_back(j);
    candidates_.erase(it);
  }
  if (candidates_.empty() && initial_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": no usable variable"));
  }
  if (initial_.empty()) return StartGreedyStep();
  std::vector<std::vector<int>> prefixes;
  for (size_t i = 1; i <= initial_.size(); ++i) {
    prefixes.emplace_back(initial_.begin(), initial_.begin() + i);
  }
  return StartBatch(Stage::kInitial, std::move(prefixes));
}

absl::Status SelectionDriver::StartBatch(Stage stage, std::vector<std::vector<int>> trials) {
  stage_ = stage;
  trials_ = std::move(trials);
  models_.clear();
  const int grid = static_cast<int>(options_.penalty_grid.size());
  for (int t = 0; t < static_cast<int>(trials_.size()); ++t) {
    const int p = static_cast<int>(trials_[t].size()) + 1;
    if (stage == Stage::kFinal) {  // one fit on every row with the chosen penalty
      SCV_ASSIGN_OR_RETURN(
          stats::LogisticNewtonCoordinator newton,
          stats::LogisticNewtonCoordinator::Create(p, FitOptions(result_.path.back().penalty)));
      models_.push_back({t, 0, options_.num_folds, std::move(newton)});
      continue;
    }
    for (int g = 0; g < grid; ++g) {
      for (int f = 0; f < options_.num_folds; ++f) {
        SCV_ASSIGN_OR_RETURN(
            stats::LogisticNewtonCoordinator newton,
            stats::LogisticNewtonCoordinator::Create(p, FitOptions(options_.penalty_grid[g])));
        models_.push_back({t, g, f, std::move(newton)});
      }
    }
  }
  UpdateRequest();
  return absl::OkStatus();
}

absl::Status SelectionDriver::StartGreedyStep() {
  if (candidates_.empty() || static_cast<int>(selected_.size()) >= options_.max_variables) {
    return StartBatch(Stage::kFinal, {selected_});
  }
  ++step_;
  std::vector<std::vector<int>> trials;
  for (int c : candidates_) {
    trials.push_back(selected_);
    trials.back().push_back(c);
  }
  return StartBatch(Stage::kGreedy, std::move(trials));
}

void SelectionDriver::UpdateRequest() {
  request_ = {SelectionRequest::Kind::kFits, parts_, {}};
  for (const Model& m : models_) {
    if (m.converged) continue;
    request_.models.push_back({m.part, trials_[m.trial], m.newton.next_beta()});
  }
}

absl::Status SelectionDriver::AddFits(const std::vector<ModelSiteResult>& pooled) {
  if (stage_ != Stage::kInitial && stage_ != Stage::kGreedy && stage_ != Stage::kFinal) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": fits not expected now"));
  }
  if (pooled.size() != request_.models.size()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": expected ", request_.models.size(),
                                                   " model results, got ", pooled.size()));
  }
  size_t next = 0;
  for (Model& m : models_) {
    if (m.converged) continue;
    const ModelSiteResult& r = pooled[next++];
    absl::Status updated = m.newton.Update({r.summary});
    if (!updated.ok()) {
      return absl::Status(updated.code(),
                          absl::StrCat(kWhere, ": ", stage(), ", ", Describe(trials_[m.trial]),
                                       ", penalty ", options_.penalty_grid[m.penalty], ", part ",
                                       m.part, ": ", updated.message()));
    }
    if (m.newton.converged()) {
      // Converged at the coefficients this summary was evaluated at, so r.auc is the held-out
      // AUC of the fitted model (LogisticNewtonCoordinator::Result returns them).
      m.converged = true;
      m.auc = r.auc;
    }
  }
  const bool all_converged =
      std::all_of(models_.begin(), models_.end(), [](const Model& m) { return m.converged; });
  if (!all_converged) {
    UpdateRequest();
    return absl::OkStatus();
  }
  return FinishBatch();
}

SelectionStep SelectionDriver::BestPenalty(int trial) const {
  const int grid = static_cast<int>(options_.penalty_grid.size());
  std::vector<int> order(grid);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [this](int a, int b) {
    return options_.penalty_grid[a] > options_.penalty_grid[b];  // largest first: ties keep it
  });
  SelectionStep best;
  bool any = false;
  for (int g : order) {
    double total = 0.0;
    for (int f = 0; f < options_.num_folds; ++f) {
      total += models_[(trial * grid + g) * options_.num_folds + f].auc;
    }
    const double auc = total / static_cast<double>(options_.num_folds);
    if (!any || auc > best.mean_auc) {
      best = {variables_[trials_[trial].back()], auc, options_.penalty_grid[g]};
      any = true;
    }
  }
  return best;
}

absl::Status SelectionDriver::FinishBatch() {
  if (stage_ == Stage::kInitial) {
    for (int t = 0; t < static_cast<int>(trials_.size()); ++t) {
      result_.path.push_back(BestPenalty(t));
      current_auc_ = result_.path.back().mean_auc;
    }
    selected_ = initial_;
    return StartGreedyStep();
  }
  if (stage_ == Stage::kGreedy) {
    int best = 0;
    SelectionStep best_step = BestPenalty(0);
    for (int t = 1; t < static_cast<int>(trials_.size()); ++t) {
      const SelectionStep step = BestPenalty(t);
      if (step.mean_auc > best_step.mean_auc) {  // ties: the earlier variable
        best_step = step;
        best = t;
      }
    }
    if (!selected_.empty() && best_step.mean_auc - current_auc_ < options_.min_auc_gain) {
      result_.rejected = best_step;
      return StartBatch(Stage::kFinal, {selected_});
    }
    selected_.push_back(candidates_[best]);
    candidates_.erase(candidates_.begin() + best);
    result_.path.push_back(best_step);
    current_auc_ = best_step.mean_auc;
    return StartGreedyStep();
  }
  SCV_ASSIGN_OR_RETURN(const stats::LogisticFit fit, models_[0].newton.Result());
  const Standardization& all = parts_.back();
  result_.standardization = {Eigen::VectorXd(selected_.size()), Eigen::VectorXd(selected_.size())};
  for (size_t i = 0; i < selected_.size(); ++i) {
    result_.variables.push_back(variables_[selected_[i]]);
    result_.standardization.means[i] = all.means[selected_[i]];
    result_.standardization.scales[i] = all.scales[selected_[i]];
  }
  result_.intercept = fit.coefficients[0];
  result_.coefficients = fit.coefficients.tail(fit.coefficients.size() - 1);
  result_.penalty = result_.path.back().penalty;
  result_.cv_auc = result_.path.back().mean_auc;
  result_.num_observations = fit.num_observations;
  result_.num_events = fit.num_events;
  stage_ = Stage::kDone;
  request_ = {};
  return absl::OkStatus();
}

std::string SelectionDriver::Describe(const std::vector<int>& trial) const {
  std::vector<std::string> names;
  for (int j : trial) names.push_back(variables_[j]);
  return absl::StrCat("model {", absl::StrJoin(names, ", "), "}");
}

absl::StatusOr<FederatedSelection> SelectionDriver::Result() const {
  if (!done()) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": not done"));
  return result_;
}

}  // namespace scancov::scores
