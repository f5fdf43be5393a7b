#include "protocol/wire/tabular_features.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

bool KnownTransform(const std::string& t) {
  return t == "none" || t == "log" || t == "neglog_101_minus";
}

absl::StatusOr<FeatureSpec> ParseFeature(const json& f, const std::string& where) {
  FeatureSpec spec;
  if (f.is_string()) {
    spec.name = f.get<std::string>();
  } else if (f.is_object()) {
    SCV_ASSIGN_OR_RETURN(spec.name, StringField(f, "name", where, ""));
    SCV_ASSIGN_OR_RETURN(spec.transform, StringField(f, "transform", where, spec.transform));
    SCV_ASSIGN_OR_RETURN(spec.center, NumberField(f, "center", where, spec.center));
    SCV_ASSIGN_OR_RETURN(spec.scale, NumberField(f, "scale", where, spec.scale));
  } else {
    return absl::InvalidArgumentError(where + ": a feature is a name or an object with a name");
  }
  if (spec.name.empty()) return absl::InvalidArgumentError(where + ": name is required");
  if (!KnownTransform(spec.transform)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": unknown transform '", spec.transform, "'"));
  }
  if (!(spec.scale > 0)) return absl::InvalidArgumentError(where + ": scale must be > 0");
  return spec;
}

}  // namespace

absl::StatusOr<std::vector<FeatureSpec>> ParseFeatures(const json& features,
                                                       absl::string_view where) {
  if (!features.is_array() || features.empty() || features.size() > kMaxFeatures) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": features must be a list of 1..", kMaxFeatures, " features"));
  }
  std::vector<FeatureSpec> out;
  for (size_t i = 0; i < features.size(); ++i) {
    SCV_ASSIGN_OR_RETURN(FeatureSpec f,
                         ParseFeature(features[i], absl::StrCat(where, ": features[", i, "]")));
    out.push_back(std::move(f));
  }
  return out;
}

json FeaturesToJson(const std::vector<FeatureSpec>& features) {
  json out = json::array();
  for (const FeatureSpec& f : features) {
    if (f.transform == "none" && f.center == 0.0 && f.scale == 1.0) {
      out.push_back(f.name);
      continue;
    }
    json j = {{"name", f.name}};
    if (f.transform != "none") j["transform"] = f.transform;
    if (f.center != 0.0) j["center"] = f.center;
    if (f.scale != 1.0) j["scale"] = f.scale;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<std::string> FeatureNames(const std::vector<FeatureSpec>& features) {
  std::vector<std::string> names;
  for (const FeatureSpec& f : features) names.push_back(f.name);
  return names;
}

}  // namespace scancov::wire
