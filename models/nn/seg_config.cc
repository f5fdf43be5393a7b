#include "models/nn/seg_config.h"

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

constexpr char kWhere[] = "segmentation net config";

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": ", why));
}

absl::Status ReadPatch(const json& value, SegNetConfig* config) {
  if (!value.is_array() || value.size() != 3) {
    return Invalid("\"patch\" must be [z, y, x] (three positive integers)");
  }
  for (size_t i = 0; i < 3; ++i) {
    SCV_ASSIGN_OR_RETURN(config->patch[i],
                         JsonIntIn(value[i], kWhere, absl::StrCat("\"patch\"[", i, "]"), 1, 1024));
  }
  return absl::OkStatus();
}

// Keys that only make sense for one kind are refused for the others, so that a config meant for
// another network does not silently train this one.
absl::Status ReadField(const std::string& key, const json& value, SegNetConfig* config) {
  const bool is_25d = config->kind == SegNetKind::kUnet25d;
  if (key == "context_slices" && is_25d) {
    SCV_ASSIGN_OR_RETURN(config->context_slices,
                         JsonIntIn(value, kWhere, "\"context_slices\"", 1, 8));
  } else if (key == "num_classes") {
    SCV_ASSIGN_OR_RETURN(config->num_classes, JsonIntIn(value, kWhere, "\"num_classes\"", 2, 64));
  } else if (key == "base_channels") {
    SCV_ASSIGN_OR_RETURN(config->base_channels,
                         JsonIntIn(value, kWhere, "\"base_channels\"", 1, 256));
  } else if (key == "depth") {
    SCV_ASSIGN_OR_RETURN(config->depth, JsonIntIn(value, kWhere, "\"depth\"", 1, 6));
  } else if (key == "batch_norm") {
    SCV_ASSIGN_OR_RETURN(config->batch_norm, JsonBool(value, kWhere, "\"batch_norm\""));
  } else if (key == "residual") {
    SCV_ASSIGN_OR_RETURN(config->residual, JsonBool(value, kWhere, "\"residual\""));
  } else if (key == "lateral_labels") {
    SCV_ASSIGN_OR_RETURN(config->lateral_labels, JsonBool(value, kWhere, "\"lateral_labels\""));
  } else if (key == "normalization") {
    if (value == "seed") {
      config->normalization = HuNormalization::kSeed;
    } else if (value == "lung_window") {
      config->normalization = HuNormalization::kLungWindow;
    } else {
      return Invalid("\"normalization\" must be \"seed\" or \"lung_window\"");
    }
  } else if (key == "patch" && config->is_3d()) {
    SCV_RETURN_IF_ERROR(ReadPatch(value, config));
  } else if (key == "tile_overlap" && config->is_3d()) {
    SCV_ASSIGN_OR_RETURN(config->tile_overlap, JsonNumber(value, kWhere, "\"tile_overlap\""));
  } else {
    return Invalid(absl::StrCat("unknown key \"", key, "\" for ", SegNetKindName(config->kind)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SegNetKind> SegNetKindFromName(absl::string_view model) {
  if (model == "unet2d") return SegNetKind::kUnet2d;
  if (model == "unet25d") return SegNetKind::kUnet25d;
  if (model == "unet3d") return SegNetKind::kUnet3d;
  return absl::NotFoundError(absl::StrCat("'", model,
                                          "' is not a segmentation model "
                                          "(known: unet2d, unet25d, unet3d)"));
}

absl::string_view SegNetKindName(SegNetKind kind) {
  switch (kind) {
    case SegNetKind::kUnet2d:
      return "unet2d";
    case SegNetKind::kUnet25d:
      return "unet25d";
    case SegNetKind::kUnet3d:
      return "unet3d";
  }
  return "unet2d";  // unreachable: the switch covers every kind
}

SegNetConfig DefaultSegNetConfig(SegNetKind kind) {
  SegNetConfig config;
  config.kind = kind;
  switch (kind) {
    case SegNetKind::kUnet2d:
      config.num_classes = 3;
      config.lateral_labels = true;
      break;
    case SegNetKind::kUnet25d:
      config.context_slices = 1;
      config.num_classes = 5;
      break;
    case SegNetKind::kUnet3d:
      config.num_classes = 5;
      config.residual = true;
      break;
  }
  return config;
}

absl::Status ValidateSegNetConfig(const SegNetConfig& config) {
  const bool is_25d = config.kind == SegNetKind::kUnet25d;
  if (is_25d ? (config.context_slices < 1 || config.context_slices > 8)
             : config.context_slices != 0) {
    return Invalid("context_slices must be 1..8 for unet25d and 0 otherwise");
  }
  if (config.num_classes < 2 || config.num_classes > 64) return Invalid("num_classes not 2..64");
  if (config.base_channels < 1 || config.base_channels > 256) {
    return Invalid("base_channels not 1..256");
  }
  if (config.depth < 1 || config.depth > 6) return Invalid("depth not 1..6");
  if (config.lateral_labels && config.num_classes < 3) {
    return Invalid("lateral_labels needs labels 1 and 2 (num_classes >= 3)");
  }
  for (int64_t size : config.patch) {
    if (size < 1 || size > 1024) return Invalid("patch sizes must be 1..1024");
  }
  if (!(config.tile_overlap >= 0.0 && config.tile_overlap <= 0.9)) {
    return Invalid("tile_overlap must be in [0, 0.9]");
  }
  return absl::OkStatus();
}

absl::StatusOr<SegNetConfig> ParseSegNetConfig(absl::string_view model, absl::string_view text) {
  SCV_ASSIGN_OR_RETURN(SegNetKind kind, SegNetKindFromName(model));
  SegNetConfig config = DefaultSegNetConfig(kind);
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
  SCV_RETURN_IF_ERROR(ValidateSegNetConfig(config));
  return config;
}

std::string SegNetConfigToJson(const SegNetConfig& config) {
  json out = {
      {"num_classes", config.num_classes},
      {"base_channels", config.base_channels},
      {"depth", config.depth},
      {"batch_norm", config.batch_norm},
      {"residual", config.residual},
      {"lateral_labels", config.lateral_labels},
      {"normalization", config.normalization == HuNormalization::kSeed ? "seed" : "lung_window"}};
  if (config.kind == SegNetKind::kUnet25d) out["context_slices"] = config.context_slices;
  if (config.is_3d()) {
    out["patch"] = config.patch;
    out["tile_overlap"] = config.tile_overlap;
  }
  return out.dump();
}

}  // namespace scancov::nn
