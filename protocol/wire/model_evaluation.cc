// The spec and a site's answer of model_evaluation (model_evaluation.h); the combined result is
// in model_evaluation_result.cc.
#include "protocol/wire/model_evaluation.h"

#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "protocol/wire/model_evaluation_internal.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "model_evaluation";
constexpr int64_t kMaxCount = stats::kMaxRocClassSize;

bool KnownModelKind(const std::string& k) {
  return k == "published" || k == "curb65" || k == "call" || k == "covid_gram" || k == "yan" ||
         k == "logistic";
}

bool KnownSplit(const std::string& s) { return s == "all" || s == "holdout" || s == "train"; }

absl::Status Bad(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

// Increasing finite numbers, 1 to `max_size` of them.
absl::StatusOr<std::vector<double>> IncreasingNumbers(const json& j, const std::string& where,
                                                      const char* key, size_t max_size) {
  bool ok = j.is_array() && !j.empty() && j.size() <= max_size;
  std::vector<double> out;
  for (size_t k = 0; ok && k < j.size(); ++k) {
    ok = j[k].is_number() && std::isfinite(j[k].get<double>()) &&
         (k == 0 || j[k].get<double>() > out.back());
    if (ok) out.push_back(j[k].get<double>());
  }
  if (!ok) return Bad(where, absl::StrCat(key, " must be 1 to ", max_size, " increasing numbers"));
  return out;
}

absl::Status ParseLogistic(const json& m, const std::string& where, EvaluatedModel* model) {
  if (!m.contains("features") || !m.at("features").is_array() || m.at("features").empty() ||
      m.at("features").size() > kMaxModelFeatures) {
    return Bad(where, absl::StrCat("features must be a list of 1..", kMaxModelFeatures));
  }
  model->features = m.at("features");
  for (const json& f : model->features) {
    const json name = f.is_object() && f.contains("name") ? f.at("name") : f;
    if (!name.is_string() || name.get<std::string>().empty()) {
      return Bad(where, "a feature must be a name or an object with a \"name\"");
    }
  }
  const json& beta = m.value("coefficients", json());
  bool ok = beta.is_array() && beta.size() == model->features.size() + 1;
  for (size_t k = 0; ok && k < beta.size(); ++k) {
    ok = beta[k].is_number() && std::isfinite(beta[k].get<double>());
    if (ok) model->coefficients.push_back(beta[k].get<double>());
  }
  if (!ok) {
    return Bad(where, "coefficients must be finite numbers, the intercept and one per feature");
  }
  return absl::OkStatus();
}

absl::StatusOr<EvaluatedModel> ParseModel(const json& m, size_t index) {
  std::string where = absl::StrCat("spec_json: models[", index, "]");
  if (!m.is_object()) return Bad(where, "not an object");
  EvaluatedModel model;
  SCV_ASSIGN_OR_RETURN(model.name, StringField(m, "name", where, ""));
  if (model.name.empty()) return Bad(where, "name is required");
  where = absl::StrCat("spec_json: model '", model.name, "'");
  SCV_ASSIGN_OR_RETURN(model.kind, StringField(m, "kind", where, ""));
  if (!KnownModelKind(model.kind)) {
    return Bad(where, "kind must be published, curb65, call, covid_gram, yan or logistic");
  }
  if (model.kind == "published") {
    SCV_ASSIGN_OR_RETURN(model.model, StringField(m, "model", where, ""));
    if (model.model.empty()) return Bad(where, "model (a published model's name) is required");
  }
  if (model.kind == "logistic") SCV_RETURN_IF_ERROR(ParseLogistic(m, where, &model));
  if (m.contains("thresholds")) {
    const json& t = m.at("thresholds");
    if (!t.is_array() || t.size() != 2 || !t[0].is_number() || !t[1].is_number() ||
        !std::isfinite(t[0].get<double>()) || !std::isfinite(t[1].get<double>()) ||
        t[0].get<double>() > t[1].get<double>()) {
      return Bad(where, "thresholds must be [low, high] with low <= high");
    }
    model.low = t[0].get<double>();
    model.high = t[1].get<double>();
  }
  if (m.contains("roc_grid")) {
    SCV_ASSIGN_OR_RETURN(model.roc_grid,
                         IncreasingNumbers(m.at("roc_grid"), where, "roc_grid", kMaxRocGridPoints));
  }
  return model;
}

absl::Status ParseSplit(const json& j, EvaluationSpec* s) {
  const std::string where = "spec_json";
  if (!j.contains("split") || j.at("split").is_null()) return absl::OkStatus();
  const json& split = j.at("split");
  if (split.is_string()) {
    s->split = split.get<std::string>();
    if (!KnownSplit(s->split)) return Bad(where, "split must be all, holdout or train");
    return absl::OkStatus();
  }
  if (!split.is_object()) return Bad(where, "split must be a string or an object by site");
  for (const auto& [site, value] : split.items()) {
    if (!value.is_string() || !KnownSplit(value.get<std::string>())) {
      return Bad(where, absl::StrCat("split of site '", site, "' must be all, holdout or train"));
    }
    s->site_splits[site] = value.get<std::string>();
  }
  return absl::OkStatus();
}

absl::Status ParseSurvival(const json& j, EvaluationSpec* s) {
  const std::string where = "spec_json: survival";
  if (!j.contains("survival") || j.at("survival").is_null()) return absl::OkStatus();
  const json& survival = j.at("survival");
  if (!survival.is_object()) return Bad("spec_json", "survival must be an object");
  SCV_ASSIGN_OR_RETURN(s->survival_time, StringField(survival, "time", where, ""));
  SCV_ASSIGN_OR_RETURN(s->survival_event, StringField(survival, "event", where, ""));
  if (s->survival_time.empty() != s->survival_event.empty()) {
    return Bad(where, "needs both time and event");
  }
  return absl::OkStatus();
}

absl::Status ParseCompare(const json& j, EvaluationSpec* s) {
  if (!j.contains("compare") || j.at("compare").is_null()) return absl::OkStatus();
  const json& compare = j.at("compare");
  if (!compare.is_array()) return Bad("spec_json", "compare must be a list of model pairs");
  std::set<std::string> names;
  for (const EvaluatedModel& m : s->models) names.insert(m.name);
  for (size_t k = 0; k < compare.size(); ++k) {
    const json& pair = compare[k];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string() ||
        !names.count(pair[0].get<std::string>()) || !names.count(pair[1].get<std::string>())) {
      return Bad(absl::StrCat("spec_json: compare[", k, "]"),
                 "must be two names of the study's models");
    }
    s->compare.push_back({pair[0].get<std::string>(), pair[1].get<std::string>()});
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> EvaluatedModel::FeatureNames() const {
  std::vector<std::string> out;
  for (const json& f : features) {
    const json name = f.is_object() && f.contains("name") ? f.at("name") : f;
    if (name.is_string()) out.push_back(name.get<std::string>());
  }
  return out;
}

std::vector<double> RocGridOf(const EvaluatedModel& model) {
  if (!model.roc_grid.empty()) return model.roc_grid;
  if (model.kind == "curb65") return stats::EvenGrid(0, 5, 5);
  if (model.kind == "call") return stats::EvenGrid(4, 13, 9);
  if (model.kind == "yan") return {0, 1};
  return stats::EvenGrid(0, 1, 100);
}

std::string EvaluationSpec::SplitFor(const std::string& site) const {
  if (site_splits.empty()) return split;
  auto it = site_splits.find(site);
  return it == site_splits.end() ? "all" : it->second;
}

absl::StatusOr<EvaluationSpec> ParseEvaluationSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string analysis, StringField(j, "analysis", where, kKind));
  if (analysis != kKind) return Bad(where, absl::StrCat("analysis must be '", kKind, "'"));
  EvaluationSpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return Bad(where, "outcome is required");
  SCV_RETURN_IF_ERROR(ParseSplit(j, &s));
  SCV_ASSIGN_OR_RETURN(const int64_t seed,
                       IntField(j, "split_seed", where, 0, 0, std::numeric_limits<int64_t>::max()));
  s.split_seed = static_cast<uint64_t>(seed);
  SCV_ASSIGN_OR_RETURN(s.holdout_fraction,
                       NumberField(j, "holdout_fraction", where, s.holdout_fraction));
  if (!(s.holdout_fraction >= 0 && s.holdout_fraction <= 1)) {
    return Bad(where, "holdout_fraction must be in [0, 1]");
  }
  SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(k);
  SCV_RETURN_IF_ERROR(ParseSurvival(j, &s));
  const json& models = j.value("models", json());
  if (!models.is_array() || models.empty() || models.size() > kMaxEvaluatedModels) {
    return Bad(where, absl::StrCat("models must be a list of 1..", kMaxEvaluatedModels));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    SCV_ASSIGN_OR_RETURN(EvaluatedModel m, ParseModel(models[i], i));
    if (!names.insert(m.name).second) {
      return Bad(where, absl::StrCat("model '", m.name, "' is named twice"));
    }
    s.models.push_back(std::move(m));
  }
  SCV_RETURN_IF_ERROR(ParseCompare(j, &s));
  return s;
}

std::string ToJson(const EvaluationSpec& s) {
  json models = json::array();
  for (const EvaluatedModel& m : s.models) {
    json e = {{"name", m.name}, {"kind", m.kind}};
    if (m.kind == "published") e["model"] = m.model;
    if (m.kind == "logistic") {
      e["features"] = m.features;
      e["coefficients"] = m.coefficients;
    }
    e["thresholds"] = {m.low, m.high};
    if (!m.roc_grid.empty()) e["roc_grid"] = m.roc_grid;
    models.push_back(std::move(e));
  }
  json j = {{"analysis", kKind}, {"outcome", s.outcome}};
  j["split"] = s.site_splits.empty() ? json(s.split) : json(s.site_splits);
  j["split_seed"] = s.split_seed;
  j["holdout_fraction"] = s.holdout_fraction;
  j["min_cell_count"] = s.min_cell_count;
  if (s.HasSurvival()) j["survival"] = {{"time", s.survival_time}, {"event", s.survival_event}};
  if (!s.compare.empty()) {
    json compare = json::array();
    for (const auto& [a, b] : s.compare) compare.push_back({a, b});
    j["compare"] = compare;
  }
  j["models"] = models;
  return j.dump();
}

std::string ToJson(const EvaluationSiteAnswer& a) {
  json models = json::array();
  for (const ModelAnswer& m : a.models) models.push_back(internal::ModelAnswerToJson(m, false));
  json comparisons = json::array();
  for (const AucComparisonAnswer& c : a.comparisons) {
    comparisons.push_back(internal::ComparisonToJson(c));
  }
  return json{{"analysis", kKind}, {"outcome", a.outcome},
              {"split", a.split},  {"min_cell_count", a.min_cell_count},
              {"models", models},  {"comparisons", comparisons}}
      .dump();
}

absl::StatusOr<EvaluationSiteAnswer> ParseEvaluationSiteAnswer(const std::string& text,
                                                               ReadMode mode) {
  const std::string where = "result_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  if (!j.contains("models") || !j.at("models").is_array()) {
    return Bad(where, "not a model evaluation (no models)");
  }
  EvaluationSiteAnswer a;
  SCV_ASSIGN_OR_RETURN(a.outcome, StringField(j, "outcome", where, ""));
  SCV_ASSIGN_OR_RETURN(a.split, StringField(j, "split", where, "all"));
  SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(j, "min_cell_count", where, 0, 0, 100000));
  a.min_cell_count = static_cast<int>(k);
  if (j.at("models").size() > kMaxEvaluatedModels) return Bad(where, "too many models");
  for (const json& m : j.at("models")) {
    SCV_ASSIGN_OR_RETURN(ModelAnswer parsed, internal::ModelAnswerFromJson(m, mode));
    a.models.push_back(std::move(parsed));
  }
  SCV_ASSIGN_OR_RETURN(a.comparisons,
                       internal::ComparisonsFromJson(j.value("comparisons", json()), where));
  return a;
}

}  // namespace scancov::wire
