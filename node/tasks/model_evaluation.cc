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
#include "models/stats/summary_json.h"
#include "models/stats/survival_counts.h"
#include "node/tasks/roc_release.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using json = nlohmann::json;
using Scorer = std::function<absl::StatusOr<double>(const scores::PatientInputs&,
                                                    const std::vector<double>& row)>;

struct ModelSpec {
  std::string name;
  std::string kind;
  double low = 0, high = 0;  // risk group thresholds: low < low <= medium < high <= high
  std::vector<double> roc_grid;
  Scorer scorer;
  std::string refusal;  // why the site does not evaluate it ("" when it does)
};

// The first of a model's features the site's policy does not release, or "".
std::string DisallowedFeature(const json& m, const privacy::ReleasePolicy& policy) {
  if (!m.is_object() || !m.contains("features") || !m.at("features").is_array()) return "";
  for (const json& f : m.at("features")) {
    const json name = f.is_object() && f.contains("name") ? f.at("name") : f;
    if (name.is_string() && !privacy::IsVariableAllowed(policy, name.get<std::string>())) {
      return name.get<std::string>();
    }
  }
  return "";
}

// A study may not ask for a grid finer than this: the counts between neighbouring thresholds
// form a histogram of the site's scores, and a grid as fine as the scores would release them.
constexpr size_t kMaxRocGridPoints = 101;

// The ROC grid: the model's "roc_grid" if given, else fixed per kind so that every site counts
// at the same thresholds: probabilities 0.00, 0.01, ..., 1.00; CURB-65 points 0..5; CALL
// points 4..13; the Yan rule's 0/1.
absl::StatusOr<std::vector<double>> RocGrid(const json& m, const std::string& name,
                                            const std::string& kind) {
  if (m.contains("roc_grid")) {
    const json& g = m.at("roc_grid");
    std::vector<double> grid;
    bool numbers = g.is_array() && !g.empty() && g.size() <= kMaxRocGridPoints;
    for (size_t k = 0; numbers && k < g.size(); ++k) {
      numbers = g[k].is_number() && std::isfinite(g[k].get<double>()) &&
                (k == 0 || g[k].get<double>() > grid.back());
      if (numbers) grid.push_back(g[k].get<double>());
    }
    if (!numbers) {
      return absl::InvalidArgumentError(absl::StrCat("model '", name, "': roc_grid must be 1 to ",
                                                     kMaxRocGridPoints, " increasing numbers"));
    }
    return grid;
  }
  if (kind == "curb65") return stats::EvenGrid(0, 5, 5);
  if (kind == "call") return stats::EvenGrid(4, 13, 9);
  if (kind == "yan") return std::vector<double>{0, 1};
  return stats::EvenGrid(0, 1, 100);
}

absl::StatusOr<Scorer> MakeScorer(const json& m, const std::vector<std::string>& columns) {
  const std::string kind = m.value("kind", std::string());
  if (kind == "published") {
    SCV_ASSIGN_OR_RETURN(const scores::LinearModelSpec* spec,
                         scores::FindPublishedModel(m.value("model", std::string())));
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
  if (kind == "logistic") {
    SCV_ASSIGN_OR_RETURN(
        TabularTaskSpec features,
        ParseTabularTaskSpec(json{{"features", m.at("features")}, {"outcome", "unused"}}.dump()));
    const std::vector<double> beta = m.at("coefficients").get<std::vector<double>>();
    if (beta.size() != features.features.size() + 1) {
      return absl::InvalidArgumentError("logistic model: need one coefficient per feature + 1");
    }
    std::vector<int> index;
    for (const FeatureSpec& f : features.features) {
      auto it = std::find(columns.begin(), columns.end(), f.name);
      if (it == columns.end()) return absl::InvalidArgumentError("unknown feature " + f.name);
      index.push_back(static_cast<int>(it - columns.begin()));
    }
    return Scorer(
        [features, beta, index](const scores::PatientInputs&,
                                const std::vector<double>& row) -> absl::StatusOr<double> {
          double lp = beta[0];
          for (size_t j = 0; j < index.size(); ++j) {
            const double v = TransformFeature(features.features[j], row[index[j]]);
            if (!std::isfinite(v)) return absl::FailedPreconditionError("missing input");
            lp += beta[j + 1] * v;
          }
          return 1.0 / (1.0 + std::exp(-lp));
        });
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown model kind '", kind, "'"));
}

json GroupSurvival(const std::vector<double>& time, const std::vector<double>& event,
                   int64_t min_cell) {
  if (static_cast<int64_t>(time.size()) < min_cell) return {{"status", "refused"}};
  absl::StatusOr<stats::SurvivalCounts> counts = stats::CountSurvival(time, event, 1.0);
  if (!counts.ok())
    return {{"status", "failed"}, {"reason", std::string(counts.status().message())}};
  return {{"status", "ok"}, {"counts", stats::ToJson(*counts)}};
}

json EvaluateModel(const ModelSpec& model, const std::vector<double>& score,
                   const std::vector<double>& y, const std::vector<double>& time,
                   const std::vector<double>& event, int64_t not_computable, int min_cell) {
  json out = {{"name", model.name}, {"kind", model.kind}, {"n_not_computable", not_computable}};
  int64_t events = 0;
  for (double v : y) events += v == 1.0;
  const int64_t non_events = static_cast<int64_t>(y.size()) - events;
  if (events < min_cell || non_events < min_cell) {
    out["status"] = "refused";
    out["reason"] = absl::StrCat("fewer than ", min_cell, " events or non-events with a score");
    return out;
  }
  absl::StatusOr<stats::AucResult> auc = stats::AucWithDeLong(score, y);
  absl::StatusOr<stats::ThresholdMetrics> high = stats::MetricsAtThreshold(score, y, model.high);
  if (!auc.ok() || !high.ok()) {
    out["status"] = "failed";
    out["reason"] = std::string((!auc.ok() ? auc.status() : high.status()).message());
    return out;
  }
  out["status"] = "ok";
  out["n"] = y.size();
  out["events"] = events;
  out["auc"] = {{"auc", auc->auc},
                {"se", auc->standard_error},
                {"ci_lower", auc->ci_lower},
                {"ci_upper", auc->ci_upper}};
  out["high_risk"] = {{"threshold", model.high},
                      {"tp", high->true_positives},
                      {"fp", high->false_positives},
                      {"tn", high->true_negatives},
                      {"fn", high->false_negatives}};
  // ROC counts at the model's fixed grid, never at the site's own scores, so that the sites'
  // counts add up; only the points whose bins hold 0 or >= min_cell events and non-events
  // (node/roc_release.h), so that no bin singles out a patient's score.
  absl::StatusOr<stats::GridRoc> roc = stats::RocAtGrid(score, y, model.roc_grid);
  if (!roc.ok()) {
    return {{"name", model.name},
            {"kind", model.kind},
            {"status", "failed"},
            {"reason", std::string(roc.status().message())},
            {"n_not_computable", not_computable}};
  }
  out["roc"] = stats::ToJson(ReleasableRoc(*roc, min_cell));
  if (!time.empty()) {
    std::vector<std::vector<double>> t(3), e(3);
    for (size_t i = 0; i < score.size(); ++i) {
      if (!std::isfinite(time[i]) || !std::isfinite(event[i])) continue;
      const int g = score[i] < model.low ? 0 : score[i] < model.high ? 1 : 2;
      t[g].push_back(time[i]);
      e[g].push_back(event[i]);
    }
    out["groups"] = json::array();
    const char* names[] = {"low", "medium", "high"};
    for (int g = 0; g < 3; ++g) {
      json group = GroupSurvival(t[g], e[g], min_cell);
      group["group"] = names[g];
      out["groups"].push_back(group);
    }
  }
  return out;
}

}  // namespace

std::string SplitFor(const nlohmann::json& spec, const std::string& site) {
  const json split = spec.value("split", json("all"));
  if (split.is_object()) return split.value(site, std::string("all"));
  return split.is_string() ? split.get<std::string>() : "all";
}

absl::StatusOr<TaskOutcome> RunModelEvaluation(const v1::Task& task, DatasetSource& data,
                                               const privacy::ReleasePolicy& policy,
                                               const std::string& site_id) {
  const json spec = json::parse(task.spec_json(), nullptr, false);
  if (spec.is_discarded() || !spec.contains("models") || !spec.at("models").is_array()) {
    return absl::InvalidArgumentError("spec_json: 'models' must be a list");
  }
  const std::string outcome = spec.value("outcome", std::string());
  // The admission variables the site releases (a published score needing another one is not
  // computable here), and the features of the fitted models it evaluates: they may use the CT
  // features and AI-severity scores the node keeps (node/clinical_source.h).
  std::vector<std::string> columns;
  for (const sites::VariableSpec& v : sites::AdmissionVariables()) {
    if (privacy::IsVariableAllowed(policy, v.name)) columns.push_back(v.name);
  }
  for (const json& m : spec.at("models")) {
    if (!m.is_object() || !m.contains("features") || !m.at("features").is_array() ||
        !DisallowedFeature(m, policy).empty()) {
      continue;
    }
    for (const json& f : m.at("features")) {
      const json name = f.is_object() && f.contains("name") ? f.at("name") : f;
      if (name.is_string() &&
          std::find(columns.begin(), columns.end(), name.get<std::string>()) == columns.end()) {
        columns.push_back(name.get<std::string>());
      }
    }
  }
  const json survival = spec.value("survival", json::object());
  const std::string time_name = survival.value("time", std::string());
  const std::string event_name = survival.value("event", std::string());
  if (time_name.empty() != event_name.empty()) {
    return absl::InvalidArgumentError("spec_json: survival needs both 'time' and 'event'");
  }
  if (!time_name.empty()) columns.push_back(time_name);
  if (!event_name.empty()) columns.push_back(event_name);
  std::vector<ModelSpec> models;
  for (const json& m : spec.at("models")) {
    ModelSpec model;
    model.name = m.value("name", std::string());
    model.kind = m.value("kind", std::string());
    const std::vector<double> th = m.value("thresholds", std::vector<double>{0.5, 0.5});
    if (th.size() != 2 || th[0] > th[1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("model '", model.name, "': thresholds must be [low, high]"));
    }
    model.low = th[0];
    model.high = th[1];
    SCV_ASSIGN_OR_RETURN(model.roc_grid, RocGrid(m, model.name, model.kind));
    const std::string disallowed = DisallowedFeature(m, policy);
    if (disallowed.empty()) {
      SCV_ASSIGN_OR_RETURN(model.scorer, MakeScorer(m, columns));
    } else {
      model.refusal = absl::StrCat("variable ", disallowed, " is not released by this site");
    }
    models.push_back(std::move(model));
  }
  SCV_ASSIGN_OR_RETURN(TabularRows rows, data.Load(columns, outcome));
  const std::string split = SplitFor(spec, site_id);
  const double holdout = spec.value("holdout_fraction", 0.19);
  const uint64_t seed = spec.value("split_seed", uint64_t{0});
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.value("min_cell_count", 0));
  const size_t c = columns.size();
  json results = json::array();
  // Per model, each evaluated patient's score by row (NaN: not computable), for paired tests.
  std::map<std::string, std::vector<double>> by_row;
  std::vector<double> row_y(rows.keys.size(), NAN);
  for (const ModelSpec& model : models) {
    std::vector<double>& paired = by_row[model.name];
    paired.assign(rows.keys.size(), NAN);
    if (!model.refusal.empty()) {
      results.push_back({{"name", model.name},
                         {"kind", model.kind},
                         {"status", "refused"},
                         {"reason", model.refusal}});
      continue;
    }
    std::vector<double> score, y, time, event;
    int64_t not_computable = 0;
    for (size_t i = 0; i < rows.keys.size(); ++i) {
      const bool held_out = InHoldout(rows.keys[i], seed, holdout);
      if ((split == "holdout" && !held_out) || (split == "train" && held_out)) continue;
      std::vector<double> row(rows.x.begin() + i * c, rows.x.begin() + (i + 1) * c);
      scores::PatientInputs inputs;
      for (size_t j = 0; j < c; ++j) {
        if (!std::isnan(row[j]) && scores::FindInputSpec(columns[j]) != nullptr) {
          inputs.Set(columns[j], row[j]);
        }
      }
      absl::StatusOr<double> s = model.scorer(inputs, row);
      if (!s.ok() || !std::isfinite(*s)) {
        ++not_computable;
        continue;
      }
      score.push_back(*s);
      y.push_back(rows.y[i]);
      paired[i] = *s;
      row_y[i] = rows.y[i];
      if (!time_name.empty()) {
        time.push_back(row[c - 2]);
        event.push_back(row[c - 1]);
      }
    }
    results.push_back(EvaluateModel(model, score, y, time, event, not_computable, min_cell));
  }
  // Paired DeLong tests between models on the patients both could score.
  json comparisons = json::array();
  for (const json& pair : spec.value("compare", json::array())) {
    if (!pair.is_array() || pair.size() != 2) continue;
    const std::string a = pair[0].get<std::string>(), b = pair[1].get<std::string>();
    if (!by_row.count(a) || !by_row.count(b)) continue;
    std::vector<double> sa, sb, yy;
    for (size_t i = 0; i < row_y.size(); ++i) {
      if (std::isnan(by_row[a][i]) || std::isnan(by_row[b][i])) continue;
      sa.push_back(by_row[a][i]);
      sb.push_back(by_row[b][i]);
      yy.push_back(row_y[i]);
    }
    int64_t events = 0;
    for (double v : yy) events += v == 1.0;
    json cmp = {{"a", a}, {"b", b}, {"n", yy.size()}};
    if (events < min_cell || static_cast<int64_t>(yy.size()) - events < min_cell) {
      cmp["status"] = "refused";
    } else if (absl::StatusOr<stats::AucComparison> d = stats::CompareAucsDeLong(sa, sb, yy);
               d.ok()) {
      cmp.update({{"status", "ok"},
                  {"auc_a", d->auc_a},
                  {"auc_b", d->auc_b},
                  {"difference", d->difference},
                  {"z", d->z},
                  {"p", d->p_value}});
    } else {
      cmp.update({{"status", "failed"}, {"reason", std::string(d.status().message())}});
    }
    comparisons.push_back(cmp);
  }
  TaskOutcome out;
  out.num_samples = rows.keys.size();
  out.result_json =
      json{{"analysis", "model_evaluation"}, {"outcome", outcome}, {"split", split},
           {"min_cell_count", min_cell},     {"models", results},  {"comparisons", comparisons}}
          .dump();
  return out;
}

}  // namespace scancov::node
