#include "protocol/wire/tabular_training.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "tabular_training";

bool AllowedValidationFraction(double f) {
  for (double allowed : kValidationFractions) {
    if (f == allowed) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<TabularTrainingSpec> ParseTabularTrainingSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string task, StringField(j, "task", where, kKind));
  if (task != kKind) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": task must be '", kKind, "'"));
  }
  TabularTrainingSpec s;
  SCV_ASSIGN_OR_RETURN(s.features,
                       ParseFeatures(j.contains("features") ? j.at("features") : json(), where));
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return absl::InvalidArgumentError(where + ": outcome is required");
  SCV_ASSIGN_OR_RETURN(s.validation_fraction,
                       NumberField(j, "validation_fraction", where, s.validation_fraction));
  if (!AllowedValidationFraction(s.validation_fraction)) {
    return absl::InvalidArgumentError(
        where + ": validation_fraction must be one of 0, 0.1, 0.2, 0.25, 0.3");
  }
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(min_cell);
  json model = j.contains("model_config") ? j.at("model_config") : json::object();
  if (!model.is_object()) {
    return absl::InvalidArgumentError(where + ": model_config must be an object");
  }
  model["input_dim"] = s.features.size();
  s.model_config_json = model.dump();
  return s;
}

std::string ToJson(const TabularTrainingSpec& s) {
  json model = json::parse(s.model_config_json, nullptr, false);
  if (!model.is_object()) model = json::object();
  json j = {{"task", kKind},
            {"features", FeaturesToJson(s.features)},
            {"outcome", s.outcome},
            {"validation_fraction", s.validation_fraction},
            {"model_config", model}};
  if (s.min_cell_count != 0) j["min_cell_count"] = s.min_cell_count;
  return j.dump();
}

}  // namespace scancov::wire
