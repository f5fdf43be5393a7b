#include "models/nn/tabular_config.h"

#include <cmath>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace scancov::nn {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("tabular net config: ", why));
}

absl::StatusOr<int64_t> PositiveInt(const json& value, absl::string_view what) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1) {
    return Invalid(absl::StrCat(what, " must be a positive integer"));
  }
  return value.get<int64_t>();
}

absl::Status ReadField(const std::string& key, const json& value, TabularNetConfig* config) {
  if (key == "input_dim") {
    SCV_ASSIGN_OR_RETURN(config->input_dim, PositiveInt(value, "\"input_dim\""));
  } else if (key == "hidden") {
    if (!value.is_array()) return Invalid("\"hidden\" must be an array of positive integers");
    config->hidden.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      SCV_ASSIGN_OR_RETURN(int64_t width,
                           PositiveInt(value[i], absl::StrCat("\"hidden\"[", i, "]")));
      config->hidden.push_back(width);
    }
  } else if (key == "dropout") {
    if (!value.is_number()) return Invalid("\"dropout\" must be a number");
    config->dropout = value.get<double>();
  } else if (key == "batch_norm") {
    if (!value.is_boolean()) return Invalid("\"batch_norm\" must be true or false");
    config->batch_norm = value.get<bool>();
  } else {
    return Invalid(absl::StrCat("unknown key \"", key, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTabularNetConfig(const TabularNetConfig& config) {
  if (config.input_dim < 1) return Invalid("input_dim must be >= 1");
  for (int64_t width : config.hidden) {
    if (width < 1) return Invalid("hidden widths must be >= 1");
  }
  if (!(config.dropout >= 0.0 && config.dropout < 1.0)) {
    return Invalid("dropout must be in [0, 1)");
  }
  return absl::OkStatus();
}

absl::StatusOr<TabularNetConfig> ParseTabularNetConfig(absl::string_view text) {
  json parsed;
  try {
    parsed = json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return Invalid(absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  if (!parsed.is_object()) return Invalid("expected a JSON object");
  if (!parsed.contains("input_dim")) return Invalid("\"input_dim\" is required");
  TabularNetConfig config;
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    SCV_RETURN_IF_ERROR(ReadField(it.key(), it.value(), &config));
  }
  SCV_RETURN_IF_ERROR(ValidateTabularNetConfig(config));
  return config;
}

std::string TabularNetConfigToJson(const TabularNetConfig& config) {
  json out = {{"input_dim", config.input_dim},
              {"hidden", config.hidden},
              {"dropout", config.dropout},
              {"batch_norm", config.batch_norm}};
  return out.dump();
}

}  // namespace scancov::nn
