#include "node/tasks/model_evaluation.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/call_score.h"
#include "models/scores/covid_gram.h"
#include "models/scores/curb65.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/published_models.h"
#include "models/scores/yan_rule.h"
#include "models/stats/auc.h"
#include "models/stats/classification_metrics.h"
#include "models/stats/roc_counts.h"
#include "models/stats/survival_counts.h"
#include "node/tasks/model_evaluation_release.h"
#include "node/tasks/roc_release.h"
#include "protocol/failure_code.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using json = nlohmann::json;
using Scorer = std::function<absl::StatusOr<double>(const scores::PatientInputs&,
                                                    const std::vector<double>& row)>;

void AddOnce(const std::string& name, std::vector<std::string>* names) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

// The inputs of a score, models/scores' names.
absl::StatusOr<std::vector<std::string>> ScoreInputs(const wire::EvaluatedModel& m) {
  if (m.kind == "published") {
    SCV_ASSIGN_OR_RETURN(const scores::LinearModelSpec* spec, scores::FindPublishedModel(m.model));
    std::vector<std::string> out;
    for (absl::string_view name : spec->InputNames()) out.emplace_back(name);
    return out;
  }
  if (m.kind == "curb65") return scores::Curb65Inputs();
  if (m.kind == "call") return scores::CallScoreInputs();
  if (m.kind == "covid_gram") return scores::CovidGramInputs();
  if (m.kind == "yan") return scores::YanRuleInputs();
  return std::vector<std::string>{};
}

// The first of a fitted model's features the site's policy does not release, or "".
std::string DisallowedFeature(const wire::EvaluatedModel& m, const privacy::ReleasePolicy& policy) {
  for (const std::string& f : m.FeatureNames()) {
    if (!privacy::IsVariableAllowed(policy, f)) return f;
  }
  return "";
}

absl::StatusOr<Scorer> MakeScorer(const wire::EvaluatedModel& m,
                                  const std::vector<std::string>& columns) {
  const std::string& kind = m.kind;
  if (kind == "published") {
    SCV_ASSIGN_OR_RETURN(const scores::LinearModelSpec* spec, scores::FindPublishedModel(m.model));
    return Scorer([spec](const scores::PatientInputs& in,
                         const std::vector<double>&) -> absl::StatusOr<double> {
      SCV_ASSIGN_OR_RETURN(scores::LinearScore s, scores::EvaluateLinearModel(*spec, in));
      return s.probability;
    });
  }
  if (kind == "curb65" || kind == "call") {
    return Scorer([kind](const scores::PatientInputs& in,
                         const std::vector<double>&) -> absl::StatusOr<double> {
      SCV_ASSIGN_OR_RETURN(scores::PointsScore p,
                           kind == "curb65" ? scores::Curb65(in) : scores::CallScore(in));
      return static_cast<double>(p.points);
    });
  }
  if (kind == "covid_gram") {
    return Scorer(
        [](const scores::PatientInputs& in, const std::vector<double>&) -> absl::StatusOr<double> {
          SCV_ASSIGN_OR_RETURN(scores::CovidGramResult r, scores::CovidGram(in));
          return r.probability;
        });
  }
  if (kind == "yan") {
    return Scorer(
        [](const scores::PatientInputs& in, const std::vector<double>&) -> absl::StatusOr<double> {
          SCV_ASSIGN_OR_RETURN(scores::YanResult r, scores::YanRule(in));
          return r.AsScore();
        });
  }
  // logistic (the wire module knows no other kind)
  SCV_ASSIGN_OR_RETURN(
      TabularTaskSpec features,
      ParseTabularTaskSpec(json{{"features", m.features}, {"outcome", "unused"}}.dump()));
  std::vector<int> index;
  for (const FeatureSpec& f : features.features) {
    auto it = std::find(columns.begin(), columns.end(), f.name);
    if (it == columns.end()) return absl::InvalidArgumentError("unknown feature " + f.name);
    index.push_back(static_cast<int>(it - columns.begin()));
  }
  return Scorer(
      [features, beta = m.coefficients, index](
          const scores::PatientInputs&, const std::vector<double>& row) -> absl::StatusOr<double> {
        double lp = beta[0];
        for (size_t j = 0; j < index.size(); ++j) {
          const double v = TransformFeature(features.features[j], row[index[j]]);
          if (!std::isfinite(v)) return absl::FailedPreconditionError("missing input");
          lp += beta[j + 1] * v;
        }
        return 1.0 / (1.0 + std::exp(-lp));
      });
}

// A risk group's Kaplan-Meier counts at the finest time bin whose every cell may leave
// (node/tasks/model_evaluation_release.h): a table at 1-day resolution with a cell of 1 would
// give that patient's event day. An empty group is refused (nothing to count), one whose table
// breaks the rule at every width is withheld.
wire::SurvivalGroup GroupSurvival(const std::vector<double>& time, const std::vector<double>& event,
                                  int min_cell, const char* name) {
  wire::SurvivalGroup g;
  g.group = name;
  g.status = "refused";
  if (time.empty()) return g;
  absl::StatusOr<std::optional<ReleasedSurvival>> released =
      ReleasableSurvival(time, event, min_cell);
  if (!released.ok()) {
    g.status = "failed";
    g.reason = protocol::FailureReportOf(released.status());  // a code: never a library's words
  } else if (!released->has_value()) {
    g.status = "withheld";
    g.reason = wire::kBelowMinCell;
  } else {
    g.status = "ok";
    g.bin_width = (*released)->bin_width;
    g.counts = std::move((*released)->counts);
  }
  return g;
}

// One model's scored patients: scores, outcomes and, when asked, survival times and events.
struct Scored {
  std::vector<double> score, y, time, event;
  int64_t not_computable = 0;
};

struct RocRelease {
  stats::GridRoc roc;
  bool anchor_kept = false;
};

// The model's ROC counts at its fixed grid, never at the site's own scores, so that the sites'
// counts add up; only the points whose bins hold 0 or >= min_cell events and non-events
// (node/tasks/roc_release.h), so that no bin singles out a patient's score. With `anchor_high`
// (the high-risk confusion counts leave) the high-risk threshold is an anchor of that release:
// counted on the grid with the threshold added, then taken out again when it is not a grid
// point (which merges two bins that each obey the rule). The anchor is kept whenever the
// confusion cells pass.
absl::StatusOr<RocRelease> ReleaseRoc(const wire::EvaluatedModel& model, const Scored& s,
                                      int min_cell, bool anchor_high) {
  const std::vector<double> grid = wire::RocGridOf(model);
  const bool on_grid = std::find(grid.begin(), grid.end(), model.high) != grid.end();
  std::vector<double> counted = grid, anchors;
  if (anchor_high) {
    anchors.push_back(model.high);
    if (!on_grid) {
      counted.insert(std::upper_bound(counted.begin(), counted.end(), model.high), model.high);
    }
  }
  SCV_ASSIGN_OR_RETURN(const stats::GridRoc roc, stats::RocAtGrid(s.score, s.y, counted));
  RocRelease out;
  out.roc = ReleasableRoc(roc, min_cell, anchors);
  std::vector<stats::GridRocPoint>& points = out.roc.points;
  auto anchor = std::find_if(points.begin(), points.end(), [&](const stats::GridRocPoint& p) {
    return anchor_high && p.threshold == model.high;
  });
  out.anchor_kept = anchor != points.end();
  if (out.anchor_kept && !on_grid) points.erase(anchor);
  return out;
}

// Kaplan-Meier counts per risk group (score < low, < high, >= high) of the patients with a
// survival time and event.
std::vector<wire::SurvivalGroup> RiskGroupSurvival(const wire::EvaluatedModel& model,
                                                   const Scored& s, int min_cell) {
  std::vector<std::vector<double>> t(3), e(3);
  for (size_t i = 0; i < s.score.size(); ++i) {
    if (!std::isfinite(s.time[i]) || !std::isfinite(s.event[i])) continue;
    const int g = s.score[i] < model.low ? 0 : s.score[i] < model.high ? 1 : 2;
    t[g].push_back(s.time[i]);
    e[g].push_back(s.event[i]);
  }
  std::vector<wire::SurvivalGroup> groups;
  for (int g = 0; g < 3; ++g) {
    groups.push_back(GroupSurvival(t[g], e[g], min_cell, wire::kRiskGroups[g]));
  }
  return groups;
}

wire::ModelAnswer EvaluateModel(const wire::EvaluatedModel& model, const Scored& s, bool survival,
                                int min_cell) {
  wire::ModelAnswer out;
  out.name = model.name;
  out.kind = model.kind;
  if (CountReleasable(s.not_computable, min_cell)) {
    out.n_not_computable = s.not_computable;
  } else {
    out.withheld["n_not_computable"] = wire::kBelowMinCell;
  }
  int64_t events = 0;
  for (double v : s.y) events += v == 1.0;
  const int64_t non_events = static_cast<int64_t>(s.y.size()) - events;
  if (events < min_cell || non_events < min_cell) {
    out.status = "refused";
    out.reason = privacy::BelowMinimumReason(min_cell);
    return out;
  }
  absl::StatusOr<stats::AucResult> auc = stats::AucWithDeLong(s.score, s.y);
  absl::StatusOr<stats::ThresholdMetrics> high =
      stats::MetricsAtThreshold(s.score, s.y, model.high);
  // The confusion counts at the coordinator's threshold leave only when each cell does.
  wire::ConfusionCounts confusion;
  if (high.ok()) {
    confusion = {model.high, high->true_positives, high->false_positives, high->true_negatives,
                 high->false_negatives};
  }
  const bool confusion_passes = high.ok() && ConfusionReleasable(confusion, min_cell);
  absl::StatusOr<RocRelease> roc = high.ok() ? ReleaseRoc(model, s, min_cell, confusion_passes)
                                             : absl::StatusOr<RocRelease>(high.status());
  const absl::Status failed = !auc.ok() ? auc.status() : !high.ok() ? high.status() : roc.status();
  if (!failed.ok()) {
    out.status = "failed";
    out.reason = protocol::FailureReportOf(failed);
    return out;
  }
  out.status = "ok";
  out.n = static_cast<int64_t>(s.y.size());
  out.events = events;
  out.auc = {auc->auc, auc->standard_error, auc->ci_lower, auc->ci_upper};
  if (confusion_passes && roc->anchor_kept) {
    out.high_risk = confusion;
  } else {
    out.withheld["high_risk"] = wire::kBelowMinCell;
  }
  out.roc = std::move(roc->roc);
  if (survival) out.groups = RiskGroupSurvival(model, s, min_cell);
  return out;
}

// A paired DeLong test between two models on the patients both could score (`by_row`: each
// model's score per row, NaN where not scored).
wire::AucComparisonAnswer Compare(const std::string& a, const std::string& b,
                                  const std::vector<double>& sa_row,
                                  const std::vector<double>& sb_row,
                                  const std::vector<double>& row_y, int min_cell) {
  std::vector<double> sa, sb, yy;
  for (size_t i = 0; i < row_y.size(); ++i) {
    if (std::isnan(sa_row[i]) || std::isnan(sb_row[i])) continue;
    sa.push_back(sa_row[i]);
    sb.push_back(sb_row[i]);
    yy.push_back(row_y[i]);
  }
  int64_t events = 0;
  for (double v : yy) events += v == 1.0;
  wire::AucComparisonAnswer c;
  c.a = a;
  c.b = b;
  c.n = static_cast<int64_t>(yy.size());
  if (!CountReleasable(c.n, min_cell)) c.withheld["n"] = wire::kBelowMinCell;
  if (events < min_cell || c.n - events < min_cell) {
    c.status = "refused";
    c.reason = wire::kBelowMinCell;
  } else if (absl::StatusOr<stats::AucComparison> d = stats::CompareAucsDeLong(sa, sb, yy);
             d.ok()) {
    c.status = "ok";
    c.auc_a = d->auc_a;
    c.auc_b = d->auc_b;
    c.difference = d->difference;
    c.z = d->z;
    c.p = d->p_value;
  } else {
    c.status = "failed";
    c.reason = protocol::FailureReportOf(d.status());
  }
  return c;
}

int IndexOf(const std::vector<std::string>& columns, const std::string& name) {
  auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

// What the models read and the site releases (a published score needing another input is
// not computable here); a fitted model with a feature kept back is refused, its features not
// read; the survival fields are asked for as they are (the gate refuses one kept back). All of
// them among EvaluationVariables(spec), the task's declaration.
absl::StatusOr<std::vector<std::string>> ColumnsToRead(const wire::EvaluationSpec& spec,
                                                       const privacy::ReleasePolicy& policy) {
  std::vector<std::string> columns;
  for (const wire::EvaluatedModel& m : spec.models) {
    SCV_ASSIGN_OR_RETURN(const std::vector<std::string> inputs, ScoreInputs(m));
    for (const std::string& input : inputs) {
      if (sites::AdmissionIndex(input) >= 0 && privacy::IsVariableAllowed(policy, input)) {
        AddOnce(input, &columns);
      }
    }
    if (!DisallowedFeature(m, policy).empty()) continue;
    for (const std::string& f : m.FeatureNames()) AddOnce(f, &columns);
  }
  if (spec.HasSurvival()) {
    AddOnce(spec.survival_time, &columns);
    AddOnce(spec.survival_event, &columns);
  }
  return columns;
}

// One model's scores on the rows of the site's split; each scored row's score also in `paired`
// (by row) and its outcome in `row_y`, for the paired tests.
Scored ScoreRows(const wire::EvaluationSpec& spec, const std::string& split,
                 const std::vector<std::string>& columns, const TabularRows& rows,
                 const Scorer& scorer, std::vector<double>* paired, std::vector<double>* row_y) {
  const int time_col = IndexOf(columns, spec.survival_time);
  const int event_col = IndexOf(columns, spec.survival_event);
  const size_t c = columns.size();
  Scored s;
  for (size_t i = 0; i < rows.keys.size(); ++i) {
    std::vector<double> row(rows.x.begin() + i * c, rows.x.begin() + (i + 1) * c);
    scores::PatientInputs inputs;
    for (size_t j = 0; j < c; ++j) {
      if (!std::isnan(row[j]) && scores::FindInputSpec(columns[j]) != nullptr) {
        inputs.Set(columns[j], row[j]);
      }
    }
    absl::StatusOr<double> score = scorer(inputs, row);
    if (!score.ok() || !std::isfinite(*score)) {
      ++s.not_computable;
      continue;
    }
    s.score.push_back(*score);
    s.y.push_back(rows.y[i]);
    (*paired)[i] = *score;
    (*row_y)[i] = rows.y[i];
    if (spec.HasSurvival()) {
      s.time.push_back(row[time_col]);
      s.event.push_back(row[event_col]);
    }
  }
  return s;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> EvaluationVariables(const wire::EvaluationSpec& spec) {
  std::vector<std::string> out;
  for (const wire::EvaluatedModel& m : spec.models) {
    SCV_ASSIGN_OR_RETURN(const std::vector<std::string> inputs, ScoreInputs(m));
    for (const std::string& input : inputs) {
      if (sites::AdmissionIndex(input) >= 0) AddOnce(input, &out);
    }
    for (const std::string& f : m.FeatureNames()) AddOnce(f, &out);
  }
  if (spec.HasSurvival()) {
    AddOnce(spec.survival_time, &out);
    AddOnce(spec.survival_event, &out);
  }
  return out;
}

std::string SplitFor(const nlohmann::json& spec, const std::string& site) {
  const json split = spec.value("split", json("all"));
  if (split.is_object()) return split.value(site, std::string("all"));
  return split.is_string() ? split.get<std::string>() : "all";
}

absl::StatusOr<TaskOutcome> RunModelEvaluation(const v1::Task& task, DatasetSource& data,
                                               const privacy::ReleasePolicy& policy,
                                               const std::string& site_id) {
  SCV_ASSIGN_OR_RETURN(const wire::EvaluationSpec spec,
                       wire::ParseEvaluationSpec(task.spec_json()));
  SCV_ASSIGN_OR_RETURN(const std::vector<std::string> columns, ColumnsToRead(spec, policy));
  std::vector<std::pair<const wire::EvaluatedModel*, Scorer>> models;
  wire::EvaluationSiteAnswer answer;
  for (const wire::EvaluatedModel& m : spec.models) {
    const std::string disallowed = DisallowedFeature(m, policy);
    if (!disallowed.empty()) {
      models.push_back({&m, nullptr});
      continue;
    }
    SCV_ASSIGN_OR_RETURN(Scorer scorer, MakeScorer(m, columns));
    models.push_back({&m, std::move(scorer)});
  }
  SCV_ASSIGN_OR_RETURN(TabularRows rows, data.Load(columns, spec.outcome));
  const std::string split = spec.SplitFor(site_id);
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.min_cell_count);
  // Per model, each evaluated patient's score by row (NaN: not computable), for paired tests.
  std::map<std::string, std::vector<double>> by_row;
  std::vector<double> row_y(rows.keys.size(), NAN);
  for (const auto& [model, scorer] : models) {
    std::vector<double>& paired = by_row[model->name];
    paired.assign(rows.keys.size(), NAN);
    if (scorer == nullptr) {
      wire::ModelAnswer refused;
      refused.name = model->name;
      refused.kind = model->kind;
      refused.status = "refused";
      refused.reason = absl::StrCat("variable ", DisallowedFeature(*model, policy),
                                    " is not released by this site");
      answer.models.push_back(std::move(refused));
      continue;
    }
    const Scored s = ScoreRows(spec, split, columns, rows, scorer, &paired, &row_y);
    answer.models.push_back(EvaluateModel(*model, s, spec.HasSurvival(), min_cell));
  }
  for (const auto& [a, b] : spec.compare) {
    answer.comparisons.push_back(Compare(a, b, by_row[a], by_row[b], row_y, min_cell));
  }
  answer.outcome = spec.outcome;
  answer.split = split;
  answer.min_cell_count = min_cell;
  TaskOutcome out;
  out.num_samples = rows.keys.size();
  out.result_json = wire::ToJson(answer);
  return out;
}

}  // namespace scancov::node
