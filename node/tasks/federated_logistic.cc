#include "node/tasks/federated_logistic.h"

#include <Eigen/Dense>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/federated_quantile.h"
#include "models/stats/logistic_site.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::node {
namespace {

// A terciles round (aggregator/studies/tercile_rounds.h): how many of the fit's rows have a
// linear predictor x'beta <= each candidate. Only these counts and the row count leave the site,
// and only for a round the study's budget admits (node/tasks/tercile_budget.h).
absl::Status CountTercileRows(const v1::Task& task, const wire::LogisticCheckpoint& asked,
                              const Eigen::MatrixXd& x, TercileBudget& terciles,
                              wire::LogisticSiteAnswer& answer) {
  const std::vector<double>& beta = asked.beta;
  const Eigen::Map<const Eigen::VectorXd> b(beta.data(), static_cast<Eigen::Index>(beta.size()));
  const Eigen::VectorXd eta = (x * b.tail(b.size() - 1)).array() + b[0];
  if (!eta.allFinite()) {  // a finite but huge beta; NaN would also break the counting's sort
    return absl::InvalidArgumentError("checkpoint: beta gives non-finite linear predictors");
  }
  SCV_RETURN_IF_ERROR(
      terciles.Admit(task.study_id(), task.round(), beta, asked.tercile_candidates));
  answer.terciles = true;
  answer.n_rows = eta.size();
  answer.tercile_counts =
      stats::CountAtOrBelow(absl::MakeConstSpan(eta.data(), eta.size()), asked.tercile_candidates);
  return absl::OkStatus();
}

TaskOutcome Answer(const wire::LogisticSiteAnswer& answer, size_t num_samples) {
  TaskOutcome out;
  out.num_samples = num_samples;
  out.result_json = wire::ToJson(answer);
  return out;
}

}  // namespace

absl::StatusOr<TaskOutcome> RunLogisticRegression(
    const v1::Task& task, const protocol::TensorSet* checkpoint, DatasetSource& data,
    const privacy::ReleasePolicy& policy, const std::string& site_id, TercileBudget& terciles) {
  SCV_ASSIGN_OR_RETURN(const wire::LogisticSpec spec, wire::ParseLogisticSpec(task.spec_json()));
  wire::LogisticSiteAnswer answer;
  for (const wire::FeatureSpec& f : spec.features) {
    if (!privacy::IsVariableAllowed(policy, f.name)) {  // the site takes no part
      answer.refused = true;
      answer.reason = absl::StrCat("variable ", f.name, " is not released by this site");
      return Answer(answer, 0);
    }
  }
  const std::vector<std::string> names = wire::FeatureNames(spec.features);
  SCV_ASSIGN_OR_RETURN(TabularRows rows, data.Load(names, spec.outcome));
  const size_t n = rows.keys.size(), c = names.size();
  // The rows are the declared part of the site's own split, applied by the gate
  // (node/gate.h): "train" outside the held-out part, "holdout" inside it, "all" every row.
  answer.split = spec.split.For(site_id);
  std::vector<std::vector<double>> complete;
  std::vector<double> y;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> row(c);
    bool ok = true;
    for (size_t j = 0; j < c && ok; ++j) {
      row[j] = TransformFeature(spec.features[j], rows.x[i * c + j]);
      ok = std::isfinite(row[j]);
    }
    if (!ok) continue;
    complete.push_back(std::move(row));
    y.push_back(rows.y[i]);
  }
  int64_t events = 0;
  for (double v : y) events += v == 1.0;
  const int64_t non_events = static_cast<int64_t>(y.size()) - events;
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.min_cell_count);
  answer.n_complete = static_cast<int64_t>(complete.size());
  answer.n_incomplete = static_cast<int64_t>(n - complete.size());
  if (events < min_cell || non_events < min_cell) {
    answer.refused = true;
    answer.reason = privacy::BelowMinimumReason(min_cell);
    return Answer(answer, 0);
  }
  Eigen::MatrixXd x(complete.size(), c);
  Eigen::VectorXd yy(complete.size());
  for (size_t i = 0; i < complete.size(); ++i) {
    for (size_t j = 0; j < c; ++j) x(i, j) = complete[i][j];
    yy[i] = y[i];
  }
  SCV_ASSIGN_OR_RETURN(stats::LogisticSiteData site,
                       stats::LogisticSiteData::Create(x, yy, stats::LogisticOptions{}));
  SCV_ASSIGN_OR_RETURN(const wire::LogisticCheckpoint asked,
                       wire::ParseLogisticCheckpoint(checkpoint, site.num_coefficients()));
  if (asked.IsTercileRound()) {
    SCV_RETURN_IF_ERROR(CountTercileRows(task, asked, x, terciles, answer));
    return Answer(answer, complete.size());
  }
  const std::vector<double> beta =
      asked.beta.empty() ? std::vector<double>(site.num_coefficients(), 0.0) : asked.beta;
  SCV_ASSIGN_OR_RETURN(answer.summary, site.Evaluate(beta));
  return Answer(answer, complete.size());
}

}  // namespace scancov::node
