#include "node/tasks/federated_selection.h"

#include <Eigen/Dense>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/selection_site.h"
#include "protocol/wire/model_selection.h"

namespace scancov::node {
namespace {

// The rows as the pipeline's table, columns in the spec's order.
absl::StatusOr<scores::TrainingTable> ToTable(const TabularRows& rows,
                                              const std::vector<std::string>& variables) {
  scores::TrainingTable table;
  table.variables = variables;
  const size_t n = rows.keys.size(), c = rows.columns.size();
  table.values.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(variables.size()));
  table.outcome.resize(static_cast<Eigen::Index>(n));
  for (size_t j = 0; j < variables.size(); ++j) {
    const auto it = std::find(rows.columns.begin(), rows.columns.end(), variables[j]);
    if (it == rows.columns.end()) {
      return absl::InternalError(absl::StrCat("model selection: ", variables[j], " not loaded"));
    }
    const size_t from = static_cast<size_t>(it - rows.columns.begin());
    for (size_t i = 0; i < n; ++i) table.values(i, j) = rows.x[i * c + from];
  }
  for (size_t i = 0; i < n; ++i) table.outcome[i] = rows.y[i];
  return table;
}

// Why the site takes no part, or "" when it does.
std::string RefusalReason(const wire::SelectionSpec& spec, const privacy::ReleasePolicy& policy,
                          int64_t events, int64_t non_events) {
  for (const std::string& v : spec.variables) {
    if (!privacy::IsVariableAllowed(policy, v)) {
      return absl::StrCat("variable ", v, " is not released by this site");
    }
  }
  const int64_t needed = std::max<int64_t>(
      privacy::EffectiveMinCellCount(policy, spec.min_cell_count), spec.options.num_folds);
  if (events < needed || non_events < needed) {
    return privacy::BelowMinimumReason(needed);
  }
  return "";
}

absl::StatusOr<wire::SelectionAggregates> Answer(const scores::SelectionSite& site,
                                                 const scores::SelectionRequest& request) {
  wire::SelectionAggregates out;
  out.kind = request.kind;
  switch (request.kind) {
    case scores::SelectionRequest::Kind::kSums:
      out.moments = site.Sums();
      break;
    case scores::SelectionRequest::Kind::kSquares: {
      std::vector<Eigen::VectorXd> means;
      for (const scores::Standardization& s : request.parts) means.push_back(s.means);
      SCV_ASSIGN_OR_RETURN(out.moments, site.Squares(means));
      break;
    }
    case scores::SelectionRequest::Kind::kFits: {
      SCV_ASSIGN_OR_RETURN(out.models, site.Evaluate(request.parts, request.models));
      break;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<TaskOutcome> RunModelSelection(const v1::Task& task,
                                              const protocol::TensorSet* request,
                                              DatasetSource& data,
                                              const privacy::ReleasePolicy& policy) {
  SCV_ASSIGN_OR_RETURN(const wire::SelectionSpec spec, wire::ParseSelectionSpec(task.spec_json()));
  SCV_ASSIGN_OR_RETURN(const scores::SelectionRequest asked,
                       wire::RequestFromTensors(request, wire::ShapeOf(spec)));
  TaskOutcome out;
  const auto refuse = [&out](const std::string& reason) {
    wire::SelectionSiteAnswer refusal;
    refusal.refused = true;
    refusal.reason = reason;
    out.result_json = wire::ToJson(refusal);
    return out;
  };
  for (const std::string& v : spec.variables) {  // a kept-back variable is not even read
    if (!privacy::IsVariableAllowed(policy, v)) {
      return refuse(absl::StrCat("variable ", v, " is not released by this site"));
    }
  }
  SCV_ASSIGN_OR_RETURN(const TabularRows rows, data.Load(spec.variables, spec.outcome));
  int64_t events = 0;
  for (double y : rows.y) events += y == 1.0;
  const int64_t non_events = static_cast<int64_t>(rows.y.size()) - events;
  const std::string refusal = RefusalReason(spec, policy, events, non_events);
  if (!refusal.empty()) return refuse(refusal);
  SCV_ASSIGN_OR_RETURN(scores::TrainingTable table, ToTable(rows, spec.variables));
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.min_cell_count);
  absl::StatusOr<scores::SelectionSite> site =
      scores::SelectionSite::Create(std::move(table), spec.options, min_cell);
  // FailedPrecondition: a held-out fold below the minimum cell count (or an outcome class
  // smaller than the number of folds). Only the code leaves.
  if (absl::IsFailedPrecondition(site.status())) {
    return refuse(privacy::BelowMinimumReason(std::max<int64_t>(min_cell, spec.options.num_folds)));
  }
  if (!site.ok()) return site.status();
  wire::SelectionSiteAnswer answer;
  SCV_ASSIGN_OR_RETURN(answer.aggregates, Answer(*site, asked));
  answer.suppressed = site->suppressed();  // names only: treated as missing at this site
  out.num_samples = rows.keys.size();
  out.result_json = wire::ToJson(answer);
  return out;
}

}  // namespace scancov::node
