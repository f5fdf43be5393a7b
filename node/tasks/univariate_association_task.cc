// The univariate_association kind at the node (the seed's Table 1 per site): one univariate
// logistic regression per variable term against the study outcome (odds ratio per one site SD
// for continuous and ordinal variables, per level for binary ones, each level against level 0
// for categorical ones); only these aggregates leave: OR, 95% CI, two-sided Wald p, signed z,
// log OR and its SE, n and events. Terms the site's release policy refuses are reported as
// refused with the rule's reason; they are never sent.
//
// Spec and answer: protocol/wire/univariate_association.h.
#include <spdlog/spdlog.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/univariate_association.h"
#include "node/imaging/ct_features.h"
#include "node/tabular_features.h"
#include "node/tasks/task_plugin.h"
#include "protocol/failure_code.h"
#include "protocol/ids.h"
#include "protocol/wire/univariate_association.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

struct Term {
  std::string name;
  std::string variable;
  std::string type;
  stats::VariableKind kind = stats::VariableKind::kContinuous;
  int level = -1;  // categorical: this level against level 0
};

// The terms of one variable; categorical variables get one term per observed non-zero level.
std::vector<Term> TermsFor(const sites::VariableSpec& spec, const std::vector<double>& column) {
  Term base{spec.name, spec.name, sites::TypeName(spec.type)};
  if (spec.type == sites::VariableType::kBinary) base.kind = stats::VariableKind::kBinary;
  if (spec.type != sites::VariableType::kCategorical) return {base};
  std::set<int> levels;
  for (double v : column) {
    if (!std::isnan(v) && v != 0) levels.insert(static_cast<int>(std::lround(v)));
  }
  std::vector<Term> terms;
  for (int level : levels) {
    Term t = base;
    t.name = absl::StrCat(spec.name, "=", level);
    t.kind = stats::VariableKind::kBinary;
    t.level = level;
    terms.push_back(t);
  }
  return terms;
}

wire::AssociationTerm Refusal(const Term& t, const std::string& status, const std::string& reason) {
  wire::AssociationTerm r;
  r.term = t.name;
  r.variable = t.variable;
  r.type = t.type;
  r.status = status;
  r.reason = reason;
  return r;
}

wire::AssociationTerm AnalyzeTerm(const Term& term, const std::vector<double>& column,
                                  const std::vector<double>& y,
                                  const privacy::ReleasePolicy& policy, int min_cell) {
  std::vector<double> x, yy;
  for (size_t i = 0; i < column.size(); ++i) {
    double v = column[i];
    if (std::isnan(v)) continue;
    if (term.level >= 0) {
      const int code = static_cast<int>(std::lround(v));
      if (code != 0 && code != term.level) continue;
      v = code == term.level ? 1.0 : 0.0;
    }
    x.push_back(v);
    yy.push_back(y[i]);
  }
  int64_t events = 0;
  std::vector<int64_t> levels;
  if (term.kind == stats::VariableKind::kBinary) levels = {0, 0};
  for (size_t i = 0; i < x.size(); ++i) {
    events += yy[i] == 1.0;
    if (!levels.empty()) ++levels[x[i] == 1.0 ? 1 : 0];
  }
  const int64_t non_events = static_cast<int64_t>(x.size()) - events;
  const privacy::ReleaseDecision decision =
      privacy::DecideRelease(policy, min_cell, term.variable, events, non_events, levels);
  if (!decision.allowed) return Refusal(term, "refused", decision.reason);
  absl::StatusOr<stats::Association> a = stats::UnivariateAssociation(x, yy, term.kind);
  // The fit's own message can quote numbers computed from the data (an eigenvalue): only its
  // failure code leaves (protocol/failure_code.h); the message stays in the node's log.
  if (!a.ok()) {
    spdlog::info("association term '{}' not fitted: {}", term.variable,
                 std::string(a.status().message()));
    return Refusal(term, "failed", protocol::FailureReportOf(a.status()));
  }
  wire::AssociationTerm r = Refusal(term, "ok", "");
  r.n = a->n;
  r.events = a->events;
  r.odds_ratio = a->odds_ratio;
  r.ci_lower = a->ci_lower;
  r.ci_upper = a->ci_upper;
  r.p = a->p_value;
  r.z = a->z;
  r.log_or = a->log_odds_ratio;
  r.se = a->standard_error;
  return r;
}

// The study's spec (protocol/wire), checked against this node's dictionary; no variables
// means every admission variable.
absl::StatusOr<wire::AssociationSpec> ParseSpec(const std::string& text) {
  SCV_ASSIGN_OR_RETURN(wire::AssociationSpec spec, wire::ParseAssociationSpec(text));
  if (sites::FindVariable(spec.outcome) == nullptr && spec.outcome != "death_or_icu") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_json: unknown outcome '", spec.outcome, "'"));
  }
  if (spec.variables.empty()) {
    for (const sites::VariableSpec& v : sites::AdmissionVariables()) {
      spec.variables.push_back(v.name);
    }
  }
  return spec;
}

class UnivariateAssociationTask : public TaskPlugin {
 public:
  explicit UnivariateAssociationTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(wire::AssociationSpec spec, ParseSpec(task.spec_json()));
    TaskDeclaration d;
    d.variables = spec.variables;
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet*) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    SCV_ASSIGN_OR_RETURN(wire::AssociationSpec spec, ParseSpec(task.spec_json()));
    wire::AssociationSiteResult result;
    std::vector<wire::AssociationTerm>& terms = result.terms;
    std::vector<std::string> known;
    for (const std::string& v : spec.variables) {
      if (sites::FindVariable(v) == nullptr && !IsCtFeature(v) &&
          !protocol::IsAiSeverityVariable(v)) {
        terms.push_back(Refusal({v, v, "unknown"}, "failed", "unknown variable"));
      } else if (!privacy::IsVariableAllowed(context_.policy, v)) {  // not even read
        terms.push_back(
            Refusal({v, v, "kept back"}, "refused", "not in the site's allowed variables"));
      } else {
        known.push_back(v);
      }
    }
    SCV_ASSIGN_OR_RETURN(TabularRows rows, context_.tabular->Load(known, spec.outcome));
    const int min_cell = privacy::EffectiveMinCellCount(context_.policy, spec.min_cell_count);
    const size_t n = rows.keys.size(), c = rows.columns.size();
    for (size_t j = 0; j < c; ++j) {
      std::vector<double> column(n);
      for (size_t i = 0; i < n; ++i) column[i] = rows.x[i * c + j];
      const sites::VariableSpec* variable = sites::FindVariable(rows.columns[j]);
      if (variable == nullptr) {  // a CT feature or an AI-severity probability: continuous, per SD
        const char* kind = protocol::IsAiSeverityVariable(rows.columns[j])
                               ? "continuous (AI-severity)"
                               : "continuous (CT)";
        terms.push_back(AnalyzeTerm({rows.columns[j], rows.columns[j], kind}, column, rows.y,
                                    context_.policy, min_cell));
        continue;
      }
      for (const Term& term : TermsFor(*variable, column)) {
        terms.push_back(AnalyzeTerm(term, column, rows.y, context_.policy, min_cell));
      }
    }
    int64_t events = 0;
    for (double y : rows.y) events += y == 1.0;
    result.outcome = spec.outcome;
    result.n_patients = static_cast<int64_t>(n);
    result.n_events = events;
    result.min_cell_count = min_cell;
    TaskOutcome out;
    out.num_samples = n;
    out.result_json = wire::ToJson(result);
    return out;
  }

 private:
  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeUnivariateAssociationTask(const NodeContext& context) {
  return std::make_unique<UnivariateAssociationTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(univariate_association, &MakeUnivariateAssociationTask);

}  // namespace scancov::node
