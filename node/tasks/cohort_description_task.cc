// The cohort_description kind at the node: the site's part of a federated Table 1
// (protocol/wire/cohort_description.h). Round 0 releases, per variable, the number of patients
// with and without a value, the sum and sum of squares of a continuous variable, and the count
// of each level of the others, every count under the site's minimum-count rule with secondary
// suppression (privacy/cell_suppression.h). The quantile rounds release, per continuous
// variable the site released, how many of its values are <= each candidate the aggregator
// chose, at most kMaxCohortQuantileRounds rounds and kMaxCohortCandidates candidates a
// variable: a coordinator cannot read a variable's distribution on a fine grid through them.
#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/federated_quantile.h"
#include "node/imaging/ct_features.h"
#include "node/tabular_features.h"
#include "node/tasks/task_plugin.h"
#include "privacy/cell_suppression.h"
#include "protocol/ids.h"
#include "protocol/wire/cohort_description.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

// The variable's type in this node's dictionary; CT features and AI-severity scores are
// continuous; "" when the node does not know the variable.
std::string TypeOf(const std::string& variable) {
  if (const sites::VariableSpec* v = sites::FindVariable(variable)) {
    return sites::TypeName(v->type);
  }
  if (IsCtFeature(variable) || protocol::IsAiSeverityVariable(variable)) return "continuous";
  return "";
}

std::vector<double> Column(const TabularRows& rows, size_t j) {
  const size_t n = rows.keys.size(), c = rows.columns.size();
  std::vector<double> column(n);
  for (size_t i = 0; i < n; ++i) column[i] = rows.x[i * c + j];
  return column;
}

wire::CohortVariable Suppressed(wire::CohortVariable v, int k, const char* what) {
  v.status = "suppressed";
  v.reason = privacy::BelowMinimumReason(k);
  v.levels.clear();
  v.n = v.missing = 0;
  v.sum = v.sum_sq = 0;
  return v;
}

wire::CohortVariable Describe(const std::string& name, const std::string& type,
                              const std::vector<double>& column, int k) {
  wire::CohortVariable v;
  v.variable = name;
  v.type = type;
  const int64_t total = static_cast<int64_t>(column.size());
  for (double x : column) {
    if (std::isnan(x)) continue;
    ++v.n;
    if (type == "continuous") {
      v.sum += x;
      v.sum_sq += x * x;
    } else {
      ++v.levels[static_cast<int>(std::lround(x))];
    }
  }
  v.missing = total - v.n;
  // The missing count is released too: it must pass the rule, with its complement n.
  if (!privacy::CountReleasable(v.missing, total, k)) {
    return Suppressed(v, k, "with or without a value");
  }
  if (type == "continuous") {
    return v.n >= k ? v : Suppressed(v, k, "with a value");
  }
  std::vector<int64_t> cells;
  for (const auto& [level, count] : v.levels) cells.push_back(count);
  const std::vector<bool> hidden = privacy::SuppressSmallCells(cells, k);
  size_t i = 0;
  int shown = 0;
  for (auto& [level, count] : v.levels) {
    if (hidden[i++]) {
      count = -1;
    } else {
      ++shown;
    }
  }
  return shown > 0 ? v : Suppressed(v, k, "in each level");
}

class CohortDescriptionTask : public TaskPlugin {
 public:
  explicit CohortDescriptionTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(wire::CohortSpec spec, wire::ParseCohortSpec(task.spec_json()));
    TaskDeclaration d;
    d.variables = spec.variables;
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    SCV_ASSIGN_OR_RETURN(wire::CohortSpec spec, wire::ParseCohortSpec(task.spec_json()));
    const int k = privacy::EffectiveMinCellCount(context_.policy, spec.min_cell_count);
    std::vector<wire::CohortVariable> described;
    std::vector<std::string> readable;
    for (const std::string& name : spec.variables) {
      wire::CohortVariable v;
      v.variable = name;
      v.type = TypeOf(name);
      if (v.type.empty()) {
        v.status = "failed";
        v.reason = "unknown variable";
      } else if (!privacy::IsVariableAllowed(context_.policy, name)) {  // not even read
        v.status = "refused";
        v.reason = "not in the site's allowed variables";
      } else {
        readable.push_back(name);
      }
      described.push_back(v);
    }
    SCV_ASSIGN_OR_RETURN(TabularRows rows, context_.tabular->Load(readable, spec.outcome));
    TaskOutcome out;
    out.num_samples = rows.keys.size();
    if (global == nullptr) {
      out.result_json = Moments(spec, rows, described, k);
      return out;
    }
    SCV_ASSIGN_OR_RETURN(out.result_json, Counts(task, *global, spec, rows, described, k));
    return out;
  }

 private:
  std::string Moments(const wire::CohortSpec& spec, const TabularRows& rows,
                      std::vector<wire::CohortVariable>& described, int k) const {
    wire::CohortSiteMoments m;
    m.n_patients = static_cast<int64_t>(rows.keys.size());
    int64_t events = 0;
    for (double y : rows.y) events += y == 1.0;
    m.n_events = privacy::CountReleasable(events, m.n_patients, k) ? events : -1;
    m.min_cell_count = k;
    for (wire::CohortVariable& v : described) {
      if (!v.status.empty() && v.status != "ok") continue;
      const auto at = std::find(rows.columns.begin(), rows.columns.end(), v.variable);
      v = Describe(v.variable, v.type, Column(rows, at - rows.columns.begin()), k);
    }
    m.variables = described;
    return wire::ToJson(m);
  }

  absl::StatusOr<std::string> Counts(const v1::Task& task, const protocol::TensorSet& global,
                                     const wire::CohortSpec& spec, const TabularRows& rows,
                                     const std::vector<wire::CohortVariable>& described,
                                     int k) const {
    if (task.round() < 1 || task.round() > static_cast<uint32_t>(wire::kMaxCohortQuantileRounds)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cohort description: at most ", wire::kMaxCohortQuantileRounds,
          " quantile rounds are answered per study (this is round ", task.round(), ")"));
    }
    SCV_ASSIGN_OR_RETURN(const wire::CohortCandidates asked, wire::CandidatesFromTensors(global));
    wire::CohortCounts counts;
    for (const auto& [variable, candidates] : asked) {
      const auto d =
          std::find_if(described.begin(), described.end(),
                       [&](const wire::CohortVariable& v) { return v.variable == variable; });
      if (d == described.end() || d->type != "continuous") {
        return absl::PermissionDeniedError(
            absl::StrCat("cohort description: quantiles asked of '", variable,
                         "', not a continuous variable of the study"));
      }
      if (d->status != "ok") continue;  // kept back or unknown: not counted
      const auto at = std::find(rows.columns.begin(), rows.columns.end(), variable);
      const std::vector<double> column = Column(rows, at - rows.columns.begin());
      // The same release rule as the moments round: only a released variable is counted.
      if (Describe(variable, "continuous", column, k).status != "ok") continue;
      std::vector<double> values;
      for (double x : column) {
        if (std::isfinite(x)) values.push_back(x);
      }
      counts[variable] = stats::CountAtOrBelow(values, candidates);
    }
    return wire::CountsToJson(counts, asked);
  }

  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeCohortDescriptionTask(const NodeContext& context) {
  return std::make_unique<CohortDescriptionTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(cohort_description, &MakeCohortDescriptionTask);

}  // namespace scancov::node
