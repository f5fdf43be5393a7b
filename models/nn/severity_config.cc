#include "models/nn/severity_config.h"

#include <cmath>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace scancov::nn {
namespace {

using nlohmann::json;

constexpr char kWhere[] = "slice encoder config";

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": ", why));
}

absl::Status ReadField(const std::string& key, const json& value, SliceEncoderConfig* config) {
  if (key == "window") {
    if (value == "single") {
      config->window = SeverityWindow::kSingle;
    } else if (value == "three") {
      config->window = SeverityWindow::kThree;
    } else {
      return Invalid("\"window\" must be \"single\" or \"three\"");
    }
  } else if (key == "base_channels") {
    SCV_ASSIGN_OR_RETURN(config->base_channels,
                         JsonIntIn(value, kWhere, "\"base_channels\"", 1, 256));
  } else if (key == "depth") {
    SCV_ASSIGN_OR_RETURN(config->depth, JsonIntIn(value, kWhere, "\"depth\"", 1, 6));
  } else if (key == "embedding_dim") {
    SCV_ASSIGN_OR_RETURN(config->embedding_dim,
                         JsonIntIn(value, kWhere, "\"embedding_dim\"", 1, 4096));
  } else if (key == "batch_norm") {
    SCV_ASSIGN_OR_RETURN(config->batch_norm, JsonBool(value, kWhere, "\"batch_norm\""));
  } else if (key == "slice_size") {
    SCV_ASSIGN_OR_RETURN(config->slice_size, JsonIntIn(value, kWhere, "\"slice_size\"", 8, 1024));
  } else if (key == "slice_spacing_mm") {
    SCV_ASSIGN_OR_RETURN(config->slice_spacing_mm,
                         JsonNumber(value, kWhere, "\"slice_spacing_mm\""));
  } else if (key == "min_lung_fraction") {
    SCV_ASSIGN_OR_RETURN(config->min_lung_fraction,
                         JsonNumber(value, kWhere, "\"min_lung_fraction\""));
  } else if (key == "pooling") {
    if (value == "mean") {
      config->pooling = SeverityPooling::kMean;
    } else if (value == "mean_max") {
      config->pooling = SeverityPooling::kMeanMax;
    } else {
      return Invalid("\"pooling\" must be \"mean\" or \"mean_max\"");
    }
  } else {
    return Invalid(absl::StrCat("unknown key \"", key, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSliceEncoderConfig(const SliceEncoderConfig& config) {
  if (config.base_channels < 1 || config.base_channels > 256) {
    return Invalid("base_channels not 1..256");
  }
  if (config.depth < 1 || config.depth > 6) return Invalid("depth not 1..6");
  if (config.embedding_dim < 1 || config.embedding_dim > 4096) {
    return Invalid("embedding_dim not 1..4096");
  }
  if (config.slice_size < 8 || config.slice_size > 1024) return Invalid("slice_size not 8..1024");
  // The last block must still see at least 2 x 2 pixels (BatchNorm on one pixel of one slice
  // has no variance to normalise by).
  if (config.slice_size < (int64_t{2} << (config.depth - 1))) {
    return Invalid(absl::StrCat("slice_size ", config.slice_size, " is too small for depth ",
                                config.depth, " (needs >= 2^depth)"));
  }
  if (!(std::isfinite(config.slice_spacing_mm) && config.slice_spacing_mm >= 0.0)) {
    return Invalid("slice_spacing_mm must be finite and >= 0 (0 keeps the slices)");
  }
  if (!(config.min_lung_fraction >= 0.0 && config.min_lung_fraction <= 1.0)) {
    return Invalid("min_lung_fraction must be in [0, 1]");
  }
  return absl::OkStatus();
}

absl::StatusOr<SliceEncoderConfig> ParseSliceEncoderConfig(absl::string_view text) {
  SliceEncoderConfig config;
  if (text.empty()) return config;
  json parsed;
  try {
    parsed = json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return Invalid(absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  if (!parsed.is_object()) return Invalid("expected a JSON object");
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    SCV_RETURN_IF_ERROR(ReadField(it.key(), it.value(), &config));
  }
  SCV_RETURN_IF_ERROR(ValidateSliceEncoderConfig(config));
  return config;
}

std::string SliceEncoderConfigToJson(const SliceEncoderConfig& config) {
  json out = {{"window", config.window == SeverityWindow::kSingle ? "single" : "three"},
              {"base_channels", config.base_channels},
              {"depth", config.depth},
              {"embedding_dim", config.embedding_dim},
              {"batch_norm", config.batch_norm},
              {"slice_size", config.slice_size},
              {"slice_spacing_mm", config.slice_spacing_mm},
              {"min_lung_fraction", config.min_lung_fraction},
              {"pooling", config.pooling == SeverityPooling::kMean ? "mean" : "mean_max"}};
  return out.dump();
}

}  // namespace scancov::nn
