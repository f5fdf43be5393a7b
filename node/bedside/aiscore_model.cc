#include "node/bedside/aiscore_model.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

absl::StatusOr<double> FiniteNumber(const json& object, const char* key, double fallback,
                                    const std::string& where) {
  if (!object.contains(key)) return fallback;
  const json& v = object.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    return Invalid(where, absl::StrCat("'", key, "' must be a finite number"));
  }
  return v.get<double>();
}

absl::StatusOr<ModelFeature> ParseFeature(const json& f, const std::string& where) {
  ModelFeature feature;
  if (f.is_string()) {
    feature.name = f.get<std::string>();
  } else if (f.is_object() && f.contains("name") && f.at("name").is_string()) {
    feature.name = f.at("name").get<std::string>();
    if (f.contains("transform")) {
      if (!f.at("transform").is_string()) return Invalid(where, "'transform' must be a string");
      feature.transform = f.at("transform").get<std::string>();
    }
    SCV_ASSIGN_OR_RETURN(feature.center, FiniteNumber(f, "center", 0.0, where));
    SCV_ASSIGN_OR_RETURN(feature.scale, FiniteNumber(f, "scale", 1.0, where));
  } else {
    return Invalid(where, "a feature is a name or an object with a string 'name'");
  }
  if (scores::FindInputSpec(feature.name) == nullptr) {
    return Invalid(where, absl::StrCat("unknown input '", feature.name,
                                       "' (see models/scores/patient_inputs.h)"));
  }
  if (feature.transform != "none" && feature.transform != "log" &&
      feature.transform != "neglog_101_minus") {
    return Invalid(where, absl::StrCat("unknown transform '", feature.transform,
                                       "' (none, log or neglog_101_minus)"));
  }
  if (!(feature.scale > 0)) return Invalid(where, "'scale' must be > 0");
  return feature;
}

absl::Status ParseCutPoints(const json& j, const std::string& where, AiScoreModelFile& model) {
  if (!j.contains("cut_points")) {
    model.default_cut_points = true;
    return absl::OkStatus();
  }
  const json& c = j.at("cut_points");
  if (!c.is_array() || c.size() != 2 || !c[0].is_number() || !c[1].is_number()) {
    return Invalid(where, "'cut_points' must be two numbers [low|medium, medium|high]");
  }
  model.cut_points.low_medium = c[0].get<double>();
  model.cut_points.medium_high = c[1].get<double>();
  if (!(model.cut_points.low_medium >= 0 &&
        model.cut_points.low_medium < model.cut_points.medium_high &&
        model.cut_points.medium_high <= 100)) {
    return Invalid(where, "'cut_points' must satisfy 0 <= first < second <= 100 (score units)");
  }
  return absl::OkStatus();
}

absl::Status ParseCoefficients(const json& j, const std::string& where, AiScoreModelFile& model) {
  if (!j.contains("coefficients") || !j.at("coefficients").is_array()) {
    return Invalid(where, "'coefficients' must be a list [intercept, one per feature]");
  }
  for (const json& b : j.at("coefficients")) {
    if (!b.is_number() || !std::isfinite(b.get<double>())) {
      return Invalid(where, "'coefficients' must be finite numbers");
    }
    model.coefficients.push_back(b.get<double>());
  }
  if (model.coefficients.size() != model.features.size() + 1) {
    return Invalid(where, absl::StrCat("'coefficients' has ", model.coefficients.size(),
                                       " values; expected the intercept and ",
                                       model.features.size(), " feature coefficients"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AiScoreModelFile> ParseAiScoreModel(const std::string& text,
                                                   const std::string& where) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Invalid(where, "not a JSON object");
  AiScoreModelFile model;
  if (!j.contains("features") || !j.at("features").is_array() || j.at("features").empty()) {
    return Invalid(where, "'features' must be a non-empty list");
  }
  const json& features = j.at("features");
  for (size_t i = 0; i < features.size(); ++i) {
    SCV_ASSIGN_OR_RETURN(ModelFeature f,
                         ParseFeature(features[i], absl::StrCat(where, ": features[", i, "]")));
    for (const ModelFeature& other : model.features) {
      if (other.name == f.name) return Invalid(where, "feature '" + f.name + "' given twice");
    }
    model.features.push_back(std::move(f));
  }
  SCV_RETURN_IF_ERROR(ParseCoefficients(j, where, model));
  SCV_RETURN_IF_ERROR(ParseCutPoints(j, where, model));
  if (j.contains("outcome")) {
    if (!j.at("outcome").is_string()) return Invalid(where, "'outcome' must be a string");
    model.outcome = j.at("outcome").get<std::string>();
    if (model.outcome != "death") {
      return Invalid(where, absl::StrCat("the model predicts '", model.outcome,
                                         "'; an AI-SCoRE model predicts 'death'"));
    }
  }
  if (j.contains("source") && j.at("source").is_string()) model.source = j.at("source");
  if (j.contains("n") && j.at("n").is_number_integer()) model.n = j.at("n").get<int64_t>();
  if (j.contains("events") && j.at("events").is_number_integer()) {
    model.events = j.at("events").get<int64_t>();
  }
  return model;
}

absl::StatusOr<AiScoreModelFile> LoadAiScoreModel(const std::string& path) {
  const std::string where = "aiscore model " + path;
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat(where, ": ", std::string(text.status().message())));
  }
  return ParseAiScoreModel(*text, where);
}

double FeatureValue(const ModelFeature& feature, double x) {
  scores::InputTransform t = scores::InputTransform::kIdentity;
  if (feature.transform == "log") t = scores::InputTransform::kLogOffset;
  if (feature.transform == "neglog_101_minus") t = scores::InputTransform::kSpo2Deficit;
  return (scores::ApplyInputTransform(t, x) - feature.center) / feature.scale;
}

absl::StatusOr<scores::AiScoreResult> EvaluateAiScoreModel(const AiScoreModelFile& model,
                                                           const scores::PatientInputs& inputs) {
  std::vector<absl::string_view> names;
  for (const ModelFeature& f : model.features) names.push_back(f.name);
  SCV_ASSIGN_OR_RETURN(std::vector<double> x, scores::CollectInputs(inputs, names, "AI-SCoRE"));
  double eta = model.coefficients[0];
  for (size_t j = 0; j < model.features.size(); ++j) {
    const double f = FeatureValue(model.features[j], x[j]);
    if (!std::isfinite(f)) {
      return absl::InvalidArgumentError(absl::StrCat("AI-SCoRE: ", model.features[j].name,
                                                     ": outside the domain of transform ",
                                                     model.features[j].transform));
    }
    eta += model.coefficients[j + 1] * f;
  }
  scores::AiScoreResult r;
  r.probability = scores::Sigmoid(eta);
  r.score = 100.0 * r.probability;
  r.score_class = scores::ClassifyAiScore(r.score, model.cut_points);
  return r;
}

}  // namespace scancov::node
