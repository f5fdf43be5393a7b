#include "aggregator/coordinator/validation_plan.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/roc_plot.h"
#include "core/status_macros.h"
#include "protocol/ids.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

// The published ScanCov terciles (models/scores/published_models.h).
json PublishedTerciles() { return {0.144, 0.369}; }

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

v1::StudySpec AnalysisSpec(const std::string& name, const std::vector<std::string>& sites,
                           const json& spec_json) {
  return AnalysisSpec(name, sites, spec_json.dump());
}

json Comparators() {
  return json::array(
      {{{"name", "ScanCov (published)"},
        {"kind", "published"},
        {"model", "scancov_released"},
        {"thresholds", PublishedTerciles()}},
       {{"name", "CURB-65"}, {"kind", "curb65"}, {"thresholds", {2, 3}}},
       {{"name", "CALL"}, {"kind", "call"}, {"thresholds", {7, 10}}},
       {{"name", "COVID-GRAM"}, {"kind", "covid_gram"}, {"thresholds", {0.017, 0.404}}},
       {{"name", "Yan et al."}, {"kind", "yan"}, {"thresholds", {0.5, 0.5}}}});
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
  const json spec = json::parse(evaluation.spec().spec_json(), nullptr, false);
  if (!spec.is_object() || !spec.contains("models") || !spec.at("models").is_array()) return out;
  for (const json& m : spec.at("models")) {
    if (m.is_object() && m.contains("name") && m.at("name").is_string() && m.contains("features") &&
        m.at("features").is_array()) {
      out[m.at("name").get<std::string>()] = m.at("features");
    }
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
  const json spec = json::parse(status.spec().spec_json(), nullptr, false);
  if (!spec.is_object() || spec.value("task", json()) != "ai_severity") {
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
        auto it = r.metrics().find("local.n_scored");
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
    std::map<std::string, std::pair<json, json>> by_split;  // key -> (split map, models)
    for (const TrainedModel& m : models) {
      if (m.outcome != outcome || !coefficients.count(m.study)) continue;
      json split = json::object();
      for (const std::string& s : p.sites) {
        const bool trained =
            std::find(m.train_sites.begin(), m.train_sites.end(), s) != m.train_sites.end();
        split[s] = trained ? "holdout" : "all";
      }
      auto& group = by_split[split.dump()];
      group.first = split;
      if (group.second.is_null()) group.second = json::array();
      group.second.push_back({{"name", m.label},
                              {"kind", "logistic"},
                              {"features", m.features},
                              {"coefficients", coefficients.at(m.study)},
                              {"thresholds", terciles.count(m.study) ? json(terciles.at(m.study))
                                                                     : PublishedTerciles()}});
    }
    if (p.comparators) {
      json split = json::object();
      for (const std::string& s : p.sites) split[s] = "all";
      auto& group = by_split[split.dump()];
      group.first = split;
      if (group.second.is_null()) group.second = json::array();
      for (const json& c : Comparators()) group.second.push_back(c);
    }
    int k = 0;
    for (const auto& [key, group] : by_split) {
      json spec = {{"analysis", "model_evaluation"},
                   {"outcome", outcome},
                   {"split", group.first},
                   {"split_seed", p.split_seed},
                   {"holdout_fraction", p.holdout_fraction},
                   {"min_cell_count", p.min_cell_count},
                   {"models", group.second}};
      if (p.survival.is_object()) spec["survival"] = p.survival;
      // Paired tests between feature sets trained on the same sites (e.g. trimodal vs clinical).
      json compare = json::array();
      const json& group_models = group.second;
      for (size_t a = 0; a < group_models.size(); ++a) {
        for (size_t b = a + 1; b < group_models.size(); ++b) {
          if (group_models[a].value("kind", "") == "logistic" &&
              group_models[b].value("kind", "") == "logistic") {
            compare.push_back({group_models[b].at("name"), group_models[a].at("name")});
          }
        }
      }
      if (!compare.empty()) spec["compare"] = compare;
      out.push_back(
          AnalysisSpec(Slug(absl::StrCat(p.name, "-", outcome, "-eval-", k++)), p.sites, spec));
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
      const json r = json::parse(st.rounds().rbegin()->result_json(), nullptr, false);
      if (r.is_discarded() || r.value("outcome", std::string()) != outcome) continue;
      const std::map<std::string, json> features = ModelFeatures(st);
      std::vector<std::string> links;
      for (const RocFigure& f : RocFigures(r)) {
        links.push_back(absl::StrCat("[", f.title, "](", st.study_id(), "/", f.file, ")"));
      }
      if (!links.empty()) {
        absl::StrAppend(&roc, "- `", st.study_id(), "`: ", absl::StrJoin(links, ", "), "\n");
      }
      for (const json& m : r.at("models")) {
        const std::string name = m.value("name", std::string());
        if (!cells.count(name)) order.push_back(name);
        const std::set<std::string> seen = features.count(name)
                                               ? SitesSeenByAiSeverity(p, features.at(name))
                                               : std::set<std::string>();
        for (const auto& [site, s] : m.at("sites").items()) {
          std::string cell = s.value("status", std::string());
          if (cell == "ok") {
            const json& a = s.at("auc");
            cell = absl::StrFormat("%.2f (%.2f-%.2f)%s", a.value("auc", 0.0),
                                   a.value("ci_lower", 0.0), a.value("ci_upper", 0.0),
                                   s.value("split", std::string()) == "holdout" ? "*" : "");
            if (seen.count(site)) {
              cell += "†";
              dagger = true;
            }
          }
          cells[name][site] = cell;
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
