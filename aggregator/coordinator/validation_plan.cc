#include "aggregator/coordinator/validation_plan.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/roc_plot.h"
#include "aggregator/coordinator/validation_heatmap.h"
#include "core/status_macros.h"
#include "models/scores/published_models.h"
#include "protocol/ids.h"
#include "protocol/study_kind.h"
#include "protocol/wire/ai_severity.h"
#include "protocol/wire/logistic_regression.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

std::string Slug(std::string s) {
  for (char& c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) c = '-';
  }
  return s;
}

v1::StudySpec AnalysisSpec(const std::string& name, const std::vector<std::string>& sites,
                           const std::string& spec_json) {
  v1::StudySpec spec;
  spec.set_name(name);
  spec.set_kind(v1::STUDY_KIND_ANALYSIS);
  for (const std::string& s : sites) spec.add_sites(s);
  spec.set_round_timeout_s(300);
  spec.set_spec_json(spec_json);
  return spec;
}

wire::EvaluatedModel Comparator(const std::string& name, const std::string& kind, double low,
                                double high) {
  wire::EvaluatedModel m;
  m.name = name;
  m.kind = kind;
  m.low = low;
  m.high = high;
  return m;
}

// The published model and scores, each at its published risk groups.
std::vector<wire::EvaluatedModel> Comparators() {
  wire::EvaluatedModel scancov = Comparator(
      "ScanCov (published)", "published", scores::kScanCovTercileLow, scores::kScanCovTercileHigh);
  scancov.model = "scancov_released";
  return {scancov, Comparator("CURB-65", "curb65", 2, 3), Comparator("CALL", "call", 7, 10),
          Comparator("COVID-GRAM", "covid_gram", 0.017, 0.404),
          Comparator("Yan et al.", "yan", 0.5, 0.5)};
}

std::string FeatureName(const json& f) {
  if (f.is_string()) return f.get<std::string>();
  if (f.is_object() && f.contains("name") && f.at("name").is_string()) return f.at("name");
  return "";
}

}  // namespace

absl::StatusOr<ValidationPlan> ParseValidationPlan(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("plan: not JSON");
  ValidationPlan p;
  try {
    p.name = j.at("name").get<std::string>();
    p.sites = j.at("sites").get<std::vector<std::string>>();
    p.outcomes = j.at("outcomes").get<std::vector<std::string>>();
    if (j.contains("feature_sets")) {
      for (const auto& [name, features] : j.at("feature_sets").items()) {
        p.feature_sets.push_back({name, features});
      }
    } else {
      p.features = j.at("features");
      p.feature_sets.push_back({"", p.features});
    }
    p.split_seed = j.value("split_seed", p.split_seed);
    p.holdout_fraction = j.value("holdout_fraction", p.holdout_fraction);
    p.min_cell_count = j.value("min_cell_count", p.min_cell_count);
    p.each_site = j.value("each_site", true);
    p.leave_one_out = j.value("leave_one_out", true);
    p.federated = j.value("federated", true);
    p.comparators = j.value("comparators", true);
    p.survival = j.value("survival", json());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("plan: ", e.what()));
  }
  if (p.sites.empty() || p.outcomes.empty() || p.feature_sets.empty()) {
    return absl::InvalidArgumentError("plan: sites, outcomes and features are required");
  }
  for (const auto& [name, features] : p.feature_sets) {
    if (!features.is_array() || features.empty()) {
      return absl::InvalidArgumentError("plan: feature set '" + name + "' must be a list");
    }
    if (absl::Status s = wire::ParseFeatures(features, "plan").status(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("plan: feature set '", name, "': ", s.message()));
    }
    for (const json& f : features) {
      const std::string feature = FeatureName(f);
      if (feature.rfind(protocol::kAiSeverityPrefix, 0) == 0 &&
          !protocol::IsAiSeverityVariable(feature)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "plan: feature set '", name, "': '", feature,
            "' is not ai_severity:<study id> (a study id is [a-z0-9][a-z0-9_-]{0,62})"));
      }
    }
  }
  return p;
}

namespace {

std::set<std::string> AiSeverityStudiesOf(const json& features) {
  std::set<std::string> out;
  for (const json& f : features) {
    const std::string study = protocol::AiSeverityStudyOf(FeatureName(f));
    if (!study.empty()) out.insert(study);
  }
  return out;
}

// The sites whose cells are not external for a model with these features: those its AI-severity
// inputs' studies trained on.
std::set<std::string> SitesSeenByAiSeverity(const ValidationPlan& p, const json& features) {
  std::set<std::string> out;
  for (const std::string& study : AiSeverityStudiesOf(features)) {
    auto it = p.ai_severity_training_sites.find(study);
    if (it != p.ai_severity_training_sites.end()) out.insert(it->second.begin(), it->second.end());
  }
  return out;
}

// Each model's features, by name, as an evaluation study was given them (none for published
// models and scores).
std::map<std::string, json> ModelFeatures(const v1::StudyStatus& evaluation) {
  std::map<std::string, json> out;
  absl::StatusOr<wire::EvaluationSpec> spec =
      wire::ParseEvaluationSpec(evaluation.spec().spec_json());
  if (!spec.ok()) return out;
  for (const wire::EvaluatedModel& m : spec->models) {
    if (m.kind == "logistic") out[m.name] = m.features;
  }
  return out;
}

}  // namespace

std::vector<std::string> AiSeverityStudies(const ValidationPlan& p) {
  std::set<std::string> out;
  for (const auto& [name, features] : p.feature_sets) {
    const std::set<std::string> studies = AiSeverityStudiesOf(features);
    out.insert(studies.begin(), studies.end());
  }
  return {out.begin(), out.end()};
}

absl::Status UseAiSeverityStudy(const v1::StudyStatus& status, ValidationPlan* p) {
  const absl::StatusOr<protocol::StudyKind> kind = protocol::StudyKindOf(status.spec());
  if (!kind.ok() || *kind != protocol::StudyKind::ai_severity) {
    return absl::InvalidArgumentError(absl::StrCat("plan: feature 'ai_severity:", status.study_id(),
                                                   "': '", status.study_id(),
                                                   "' is not an AI-severity study"));
  }
  const std::string where = absl::StrCat("plan: feature 'ai_severity:", status.study_id(), "': ");
  if (status.state() == v1::STUDY_STATE_FAILED) {
    return absl::FailedPreconditionError(absl::StrCat(where, "study '", status.study_id(),
                                                      "' failed (", status.message(),
                                                      "); its sites hold no scores of it"));
  }
  if (status.state() != v1::STUDY_STATE_DONE) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, "study '", status.study_id(), "' is ", v1::StudyState_Name(status.state()),
        "; its sites hold its scores once it is done: run the plan after it"));
  }
  std::set<std::string> scored(status.spec().sites().begin(), status.spec().sites().end());
  scored.insert(status.spec().evaluation_sites().begin(), status.spec().evaluation_sites().end());
  for (const std::string& site : p->sites) {
    if (!scored.count(site)) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, "site '", site, "' was not in study '", status.study_id(),
                       "' (neither training nor evaluating), so it holds none of its scores"));
    }
    // The final round is the evaluation at which each site kept its scores and said how many.
    double kept = 0;
    bool done = false;
    if (!status.rounds().empty()) {
      for (const v1::SiteRoundStatus& r : status.rounds().rbegin()->sites()) {
        if (r.site_id() != site) continue;
        done = r.state() == "done";
        auto it = r.metrics().find(wire::kAiSeverityNScored);
        if (it != r.metrics().end()) kept = it->second;
      }
    }
    if (!done || !(kept > 0)) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, "site '", site, "' kept no scores of study '", status.study_id(),
                       "' (its final evaluation did not finish there, or it scored no patient)"));
    }
  }
  std::vector<std::string>& sites = p->ai_severity_training_sites[status.study_id()];
  sites.assign(status.spec().sites().begin(), status.spec().sites().end());
  return absl::OkStatus();
}

std::vector<std::pair<TrainedModel, v1::StudySpec>> TrainingStudies(const ValidationPlan& p) {
  std::vector<std::pair<TrainedModel, v1::StudySpec>> out;
  for (const std::string& outcome : p.outcomes) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    if (p.each_site) {
      for (const std::string& s : p.sites) groups.push_back({"at " + s, {s}});
    }
    if (p.leave_one_out && p.sites.size() > 2) {
      for (const std::string& s : p.sites) {
        std::vector<std::string> others;
        for (const std::string& o : p.sites) {
          if (o != s) others.push_back(o);
        }
        groups.push_back({"without " + s, others});
      }
    }
    if (p.federated) groups.push_back({"federated", p.sites});
    for (const auto& [set_name, features] : p.feature_sets) {
      wire::LogisticSpec spec;
      spec.outcome = outcome;
      // ParseValidationPlan refuses a plan whose feature set does not parse.
      absl::StatusOr<std::vector<wire::FeatureSpec>> parsed = wire::ParseFeatures(features, "plan");
      if (!parsed.ok()) continue;
      spec.features = std::move(*parsed);
      spec.split.split = "train";
      spec.split.seed = p.split_seed;
      spec.split.holdout_fraction = p.holdout_fraction;
      spec.min_cell_count = p.min_cell_count;
      for (const auto& [group_label, sites] : groups) {
        const std::string label =
            set_name.empty() ? group_label : absl::StrCat(set_name, " ", group_label);
        TrainedModel m{label, features, outcome, sites,
                       Slug(absl::StrCat(p.name, "-", outcome, "-", label))};
        out.push_back({m, AnalysisSpec(m.study, sites, wire::ToJson(spec))});
      }
    }
  }
  return out;
}

std::vector<v1::StudySpec> EvaluationStudies(
    const ValidationPlan& p, const std::vector<TrainedModel>& models,
    const std::map<std::string, std::vector<double>>& coefficients,
    const std::map<std::string, std::vector<double>>& terciles) {
  std::vector<v1::StudySpec> out;
  for (const std::string& outcome : p.outcomes) {
    // Group models by their per-site split: held out where trained, everything elsewhere.
    std::map<std::map<std::string, std::string>, std::vector<wire::EvaluatedModel>> by_split;
    for (const TrainedModel& m : models) {
      if (m.outcome != outcome || !coefficients.count(m.study)) continue;
      std::map<std::string, std::string> split;
      for (const std::string& s : p.sites) {
        const bool trained =
            std::find(m.train_sites.begin(), m.train_sites.end(), s) != m.train_sites.end();
        split[s] = trained ? "holdout" : "all";
      }
      wire::EvaluatedModel model;
      model.name = m.label;
      model.kind = "logistic";
      model.features = m.features;
      model.coefficients = coefficients.at(m.study);
      auto t = terciles.find(m.study);
      const bool own = t != terciles.end() && t->second.size() == 2;
      model.low = own ? t->second[0] : scores::kScanCovTercileLow;
      model.high = own ? t->second[1] : scores::kScanCovTercileHigh;
      by_split[split].push_back(std::move(model));
    }
    if (p.comparators) {
      std::map<std::string, std::string> split;
      for (const std::string& s : p.sites) split[s] = "all";
      std::vector<wire::EvaluatedModel>& group = by_split[split];
      for (wire::EvaluatedModel& c : Comparators()) group.push_back(std::move(c));
    }
    int k = 0;
    for (const auto& [split, group] : by_split) {
      wire::EvaluationSpec spec;
      spec.outcome = outcome;
      spec.site_splits = split;
      spec.split_seed = p.split_seed;
      spec.holdout_fraction = p.holdout_fraction;
      spec.min_cell_count = p.min_cell_count;
      spec.models = group;
      if (p.survival.is_object()) {
        spec.survival_time = p.survival.value("time", std::string());
        spec.survival_event = p.survival.value("event", std::string());
      }
      // Paired tests between feature sets trained on the same sites (e.g. trimodal vs clinical).
      for (size_t a = 0; a < group.size(); ++a) {
        for (size_t b = a + 1; b < group.size(); ++b) {
          if (group[a].kind == "logistic" && group[b].kind == "logistic") {
            spec.compare.push_back({group[b].name, group[a].name});
          }
        }
      }
      out.push_back(AnalysisSpec(Slug(absl::StrCat(p.name, "-", outcome, "-eval-", k++)), p.sites,
                                 wire::ToJson(spec)));
    }
  }
  return out;
}

namespace {

// The fit of a finished logistic study (its last round's): FailedPrecondition when it has none,
// DataLoss when its result does not read.
absl::StatusOr<wire::LogisticModelFit> FitOf(const v1::StudyStatus& status) {
  if (status.rounds().empty()) return absl::FailedPreconditionError("no round closed");
  const std::string& text = status.rounds().rbegin()->result_json();
  absl::StatusOr<wire::LogisticRoundResult> r = wire::ParseLogisticRoundResult(text);
  if (!text.empty() && !r.ok()) {
    return absl::DataLossError(
        absl::StrCat("study '", status.study_id(), "': ", r.status().message()));
  }
  if (!r.ok() || !r->fit) {
    return absl::FailedPreconditionError(
        absl::StrCat("study '", status.study_id(), "' has no fit: ", status.message()));
  }
  return *r->fit;
}

}  // namespace

absl::StatusOr<std::vector<double>> FittedCoefficients(const v1::StudyStatus& status) {
  SCV_ASSIGN_OR_RETURN(const wire::LogisticModelFit fit, FitOf(status));
  return fit.Beta();
}

absl::StatusOr<std::vector<double>> FittedTerciles(const v1::StudyStatus& status) {
  absl::StatusOr<wire::LogisticModelFit> fit = FitOf(status);
  if (!fit.ok() && !absl::IsFailedPrecondition(fit.status())) return fit.status();
  if (!fit.ok() || fit->terciles.empty()) {
    return absl::NotFoundError(absl::StrCat("study '", status.study_id(), "' has no terciles"));
  }
  return fit->terciles;  // 0 < t1 < t2 < 1, checked by the parse
}

std::string ValidationMatrixMarkdown(const ValidationPlan& p,
                                     const std::vector<v1::StudyStatus>& evaluations) {
  std::string md = absl::StrCat("# External validation `", p.name, "`\n\n",
                                "AUC (95% DeLong CI) of each model at each site, on data the ",
                                "model never saw: the held-out part (", p.holdout_fraction * 100,
                                "%) of a site it was trained on (*), all patients elsewhere. ",
                                "Models trained by exact federated logistic regression.\n");
  for (const auto& [name, features] : p.feature_sets) {
    absl::StrAppend(&md, "- features", name.empty() ? "" : " of `" + name + "`", ": `",
                    features.dump(), "`\n");
  }
  for (const std::string& outcome : p.outcomes) {
    std::map<std::string, std::map<std::string, std::string>> cells;  // model -> site -> cell
    std::vector<std::string> order;
    std::string roc;  // links to each evaluation study's ROC figures (its report folder)
    bool dagger = false;
    for (const v1::StudyStatus& st : evaluations) {
      if (st.rounds().empty()) continue;
      absl::StatusOr<wire::EvaluationResult> r =
          wire::ParseEvaluationResult(st.rounds().rbegin()->result_json());
      if (!r.ok() || r->outcome != outcome) continue;
      const std::map<std::string, json> features = ModelFeatures(st);
      std::vector<std::string> links;
      for (const RocFigure& f : RocFigures(*r)) {
        links.push_back(absl::StrCat("[", f.title, "](", st.study_id(), "/", f.file, ")"));
      }
      if (!links.empty()) {
        absl::StrAppend(&roc, "- `", st.study_id(), "`: ", absl::StrJoin(links, ", "), "\n");
      }
      for (const wire::EvaluationModelResult& m : r->models) {
        if (!cells.count(m.name)) order.push_back(m.name);
        const std::set<std::string> seen = features.count(m.name)
                                               ? SitesSeenByAiSeverity(p, features.at(m.name))
                                               : std::set<std::string>();
        for (const auto& [site, s] : m.sites) {
          std::string cell = s.status;
          if (cell == "ok") {
            cell = absl::StrFormat("%.2f (%.2f-%.2f)%s", s.auc.auc, s.auc.ci_lower, s.auc.ci_upper,
                                   s.split == "holdout" ? "*" : "");
            if (seen.count(site)) {
              cell += "†";
              dagger = true;
            }
          }
          cells[m.name][site] = cell;
        }
      }
    }
    absl::StrAppend(&md, "\n## Outcome `", outcome, "`\n\n| model |");
    for (const std::string& s : p.sites) absl::StrAppend(&md, " ", s, " |");
    md += "\n|---|";
    for (size_t i = 0; i < p.sites.size(); ++i) md += "---|";
    md += "\n";
    for (const std::string& name : order) {
      absl::StrAppend(&md, "| ", name, " |");
      for (const std::string& s : p.sites) {
        auto it = cells[name].find(s);
        absl::StrAppend(&md, " ", it == cells[name].end() ? "" : it->second, " |");
      }
      md += "\n";
    }
    if (!order.empty()) {
      absl::StrAppend(&md, "\n![AUC heat map, outcome ", outcome, "](", HeatMapFile(outcome),
                      ")\n");
    }
    if (dagger) {
      absl::StrAppend(&md,
                      "\n† the model's AI-severity input comes from a study that trained on this "
                      "site's patients (",
                      absl::StrJoin(AiSeverityStudies(p), ", "),
                      "): not an external evaluation of that input.\n");
    }
    if (!roc.empty()) absl::StrAppend(&md, "\nROC curves (SVG) per evaluation study:\n\n", roc);
  }
  return md;
}

}  // namespace scancov::aggregator
