#include "node/tabular_features.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace scancov::node {
namespace {

using nlohmann::json;

absl::StatusOr<FeatureSpec> ParseFeature(const json& f, size_t index) {
  const std::string where = absl::StrCat("spec_json: features[", index, "]");
  FeatureSpec spec;
  if (f.is_string()) {
    spec.name = f.get<std::string>();
    return spec;
  }
  if (!f.is_object() || !f.contains("name") || !f.at("name").is_string()) {
    return absl::InvalidArgumentError(where + ": needs a string 'name'");
  }
  spec.name = f.at("name").get<std::string>();
  spec.transform = f.value("transform", std::string("none"));
  if (spec.transform != "none" && spec.transform != "log" && spec.transform != "neglog_101_minus") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": unknown transform '", spec.transform, "'"));
  }
  spec.center = f.value("center", 0.0);
  spec.scale = f.value("scale", 1.0);
  if (!(spec.scale > 0) || !std::isfinite(spec.center)) {
    return absl::InvalidArgumentError(where + ": scale must be > 0 and center finite");
  }
  return spec;
}

double Transform(const std::string& transform, double x) {
  if (transform == "log") return std::log(0.001 + x);
  if (transform == "neglog_101_minus") return -std::log(1.0 + 100.0 - x);
  return x;
}

// A stable number in [0, 1) from the patient key: the split never changes between rounds.
double SplitCoordinate(const std::string& key, uint64_t seed) {
  const std::string digest = Sha256Digest(absl::StrCat(seed, ":", key));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  return static_cast<double>(v >> 11) / static_cast<double>(1ull << 53);
}

}  // namespace

bool InHoldout(const std::string& key, uint64_t seed, double holdout_fraction) {
  return SplitCoordinate(key, seed) < holdout_fraction;
}

double TransformFeature(const FeatureSpec& f, double raw) {
  if (std::isnan(raw)) return raw;
  return (Transform(f.transform, raw) - f.center) / f.scale;
}

absl::StatusOr<TabularTaskSpec> ParseTabularTaskSpec(const std::string& spec_json) {
  json j;
  try {
    j = json::parse(spec_json.empty() ? "{}" : spec_json);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("spec_json: not valid JSON: ", e.what()));
  }
  TabularTaskSpec spec;
  if (!j.contains("features") || !j.at("features").is_array() || j.at("features").empty()) {
    return absl::InvalidArgumentError("spec_json: 'features' must be a non-empty list");
  }
  for (size_t i = 0; i < j.at("features").size(); ++i) {
    absl::StatusOr<FeatureSpec> f = ParseFeature(j.at("features")[i], i);
    if (!f.ok()) return f.status();
    spec.features.push_back(*f);
  }
  if (!j.contains("outcome") || !j.at("outcome").is_string()) {
    return absl::InvalidArgumentError("spec_json: 'outcome' (a string) is required");
  }
  spec.outcome = j.at("outcome").get<std::string>();
  spec.validation_fraction = j.value("validation_fraction", 0.2);
  if (!(spec.validation_fraction >= 0 && spec.validation_fraction < 1)) {
    return absl::InvalidArgumentError("spec_json: validation_fraction must be in [0, 1)");
  }
  json model = j.value("model_config", json::object());
  if (!model.is_object()) return absl::InvalidArgumentError("spec_json: model_config: object");
  model["input_dim"] = spec.features.size();
  spec.model_config_json = model.dump();
  return spec;
}

absl::StatusOr<PreparedData> PrepareTabular(const TabularRows& rows, const TabularTaskSpec& spec,
                                            uint64_t split_seed) {
  const size_t n = rows.keys.size();
  const size_t c = rows.columns.size();
  if (c != spec.features.size() || rows.x.size() != n * c || rows.y.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("dataset: ", n, " rows x ", c,
                                                   " columns do not match the spec's ",
                                                   spec.features.size(), " features"));
  }
  PreparedData out;
  for (PreparedSplit* s : {&out.train, &out.validation}) s->cols = static_cast<int64_t>(c);
  for (size_t i = 0; i < n; ++i) {
    const double y = rows.y[i];
    if (y != 0.0 && y != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset: row ", i, ": outcome '", spec.outcome, "' is not 0/1"));
    }
    PreparedSplit& split =
        InHoldout(rows.keys[i], split_seed, spec.validation_fraction) ? out.validation : out.train;
    for (size_t j = 0; j < c; ++j) {
      const FeatureSpec& f = spec.features[j];
      const double raw = rows.x[i * c + j];
      double v = std::isnan(raw) ? 0.0 : TransformFeature(f, raw);
      if (!std::isfinite(v)) {
        return absl::InvalidArgumentError(absl::StrCat("dataset: row ", i, ": variable '", f.name,
                                                       "' is outside its transform's domain"));
      }
      split.x.push_back(static_cast<float>(v));
    }
    split.y.push_back(static_cast<float>(y));
    ++split.rows;
  }
  return out;
}

}  // namespace scancov::node
