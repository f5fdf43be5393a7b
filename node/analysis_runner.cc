#include "node/analysis_runner.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/univariate_association.h"
#include "node/ai_severity_scores.h"
#include "node/federated_logistic.h"
#include "node/federated_selection.h"
#include "node/imaging/ct_features.h"
#include "node/intercept_calibration.h"
#include "node/model_evaluation.h"
#include "protocol/ids.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using nlohmann::json;

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

json Refusal(const Term& t, const std::string& status, const std::string& reason) {
  return {{"term", t.name},
          {"variable", t.variable},
          {"type", t.type},
          {"status", status},
          {"reason", reason}};
}

json AnalyzeTerm(const Term& term, const std::vector<double>& column, const std::vector<double>& y,
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
  if (!a.ok()) return Refusal(term, "failed", std::string(a.status().message()));
  return {{"term", term.name},
          {"variable", term.variable},
          {"type", term.type},
          {"status", "ok"},
          {"n", a->n},
          {"events", a->events},
          {"or", a->odds_ratio},
          {"ci_lower", a->ci_lower},
          {"ci_upper", a->ci_upper},
          {"p", a->p_value},
          {"z", a->z},
          {"log_or", a->log_odds_ratio},
          {"se", a->standard_error}};
}

struct AnalysisSpec {
  std::string outcome;
  std::vector<std::string> variables;
  int min_cell_count = 0;
};

absl::StatusOr<AnalysisSpec> ParseSpec(const std::string& text) {
  const json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("spec_json: not a JSON object");
  }
  if (j.value("analysis", std::string()) != "univariate_association") {
    return absl::InvalidArgumentError("spec_json: analysis must be 'univariate_association'");
  }
  AnalysisSpec spec;
  spec.outcome = j.value("outcome", std::string());
  if (sites::FindVariable(spec.outcome) == nullptr && spec.outcome != "death_or_icu") {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_json: unknown outcome '", spec.outcome, "'"));
  }
  if (j.contains("variables")) {
    if (!j.at("variables").is_array()) {
      return absl::InvalidArgumentError("spec_json: variables must be a list");
    }
    for (const json& v : j.at("variables")) spec.variables.push_back(v.get<std::string>());
  }
  if (spec.variables.empty()) {
    for (const sites::VariableSpec& v : sites::AdmissionVariables())
      spec.variables.push_back(v.name);
  }
  spec.min_cell_count = j.value("min_cell_count", 0);
  return spec;
}

}  // namespace

absl::StatusOr<TaskOutcome> AnalysisTaskRunner::Run(const v1::Task& task,
                                                    const protocol::TensorSet* global) {
  if (task.kind() != v1::TASK_KIND_ANALYZE) {
    return absl::InvalidArgumentError("AnalysisTaskRunner: not an ANALYZE task");
  }
  const json kind = json::parse(task.spec_json().empty() ? "{}" : task.spec_json(), nullptr, false);
  if (kind.is_object() && kind.value("analysis", std::string()) == "logistic_regression") {
    return RunLogisticRegression(task, global, *data_, policy_, site_id_, *terciles_);
  }
  if (kind.is_object() && kind.value("analysis", std::string()) == "model_selection") {
    return RunModelSelection(task, global, *data_, policy_);
  }
  if (kind.is_object() && kind.value("analysis", std::string()) == "intercept_calibration") {
    return RunInterceptCalibration(task, global, *data_, policy_, site_id_);
  }
  if (kind.is_object() && kind.value("analysis", std::string()) == "model_evaluation") {
    return RunModelEvaluation(task, *data_, policy_, site_id_);
  }
  SCV_ASSIGN_OR_RETURN(AnalysisSpec spec, ParseSpec(task.spec_json()));
  json terms = json::array();
  std::vector<std::string> known;
  for (const std::string& v : spec.variables) {
    if (sites::FindVariable(v) == nullptr && !IsCtFeature(v) &&
        !protocol::IsAiSeverityVariable(v)) {
      terms.push_back(Refusal({v, v, "unknown"}, "failed", "unknown variable"));
    } else if (!privacy::IsVariableAllowed(policy_, v)) {  // not even read
      terms.push_back(
          Refusal({v, v, "kept back"}, "refused", "not in the site's allowed variables"));
    } else {
      known.push_back(v);
    }
  }
  SCV_ASSIGN_OR_RETURN(TabularRows rows, data_->Load(known, spec.outcome));
  const int min_cell = privacy::EffectiveMinCellCount(policy_, spec.min_cell_count);
  const size_t n = rows.keys.size(), c = rows.columns.size();
  for (size_t j = 0; j < c; ++j) {
    std::vector<double> column(n);
    for (size_t i = 0; i < n; ++i) column[i] = rows.x[i * c + j];
    const sites::VariableSpec* variable = sites::FindVariable(rows.columns[j]);
    if (variable == nullptr) {  // a CT feature or an AI-severity probability: continuous, per SD
      const char* kind = protocol::IsAiSeverityVariable(rows.columns[j])
                             ? "continuous (AI-severity)"
                             : "continuous (CT)";
      terms.push_back(
          AnalyzeTerm({rows.columns[j], rows.columns[j], kind}, column, rows.y, policy_, min_cell));
      continue;
    }
    for (const Term& term : TermsFor(*variable, column)) {
      terms.push_back(AnalyzeTerm(term, column, rows.y, policy_, min_cell));
    }
  }
  int64_t events = 0;
  for (double y : rows.y) events += y == 1.0;
  TaskOutcome out;
  out.num_samples = n;
  out.result_json = json{
      {"analysis", "univariate_association"},
      {"outcome", spec.outcome},
      {"n_patients", n},
      {"n_events", events},
      {"min_cell_count", min_cell},
      {"terms", terms}}.dump();
  return out;
}

absl::StatusOr<TaskOutcome> DispatchingRunner::Run(const v1::Task& task,
                                                   const protocol::TensorSet* global) {
  const json spec = json::parse(task.spec_json().empty() ? "{}" : task.spec_json(), nullptr, false);
  if (spec.is_object() && spec.value("task", std::string()) == "ai_severity") {
    if (severity_ == nullptr) {
      return absl::UnimplementedError("this node was built without AI-severity support");
    }
    return severity_->Run(task, global);
  }
  if (task.kind() == v1::TASK_KIND_ANALYZE) return analysis_->Run(task, global);
  if (spec.is_object() && spec.value("task", std::string()) == "segmentation") {
    if (segmentation_ == nullptr) {
      return absl::UnimplementedError("this node was built without segmentation support");
    }
    return segmentation_->Run(task, global);
  }
  return training_->Run(task, global);
}

}  // namespace scancov::node
