#include "protocol/wire/segmentation.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "segmentation";

absl::Status Bad(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("spec_json: ", why));
}

absl::StatusOr<SegmentationAugment> ParseAugment(const json& j) {
  const char* kWhy = "augment must be true, false, \"none\", \"geometric\" or \"full\"";
  if (!j.contains("augment") || j.at("augment").is_null()) return SegmentationAugment::kNone;
  const json& a = j.at("augment");
  if (a.is_boolean())
    return a.get<bool>() ? SegmentationAugment::kFull : SegmentationAugment::kNone;
  if (!a.is_string()) return Bad(kWhy);
  const std::string s = a.get<std::string>();
  if (s == "none") return SegmentationAugment::kNone;
  if (s == "geometric") return SegmentationAugment::kGeometric;
  if (s == "full") return SegmentationAugment::kFull;
  return Bad(kWhy);
}

const char* AugmentName(SegmentationAugment a) {
  switch (a) {
    case SegmentationAugment::kGeometric:
      return "geometric";
    case SegmentationAugment::kFull:
      return "full";
    case SegmentationAugment::kNone:
      break;
  }
  return "none";
}

}  // namespace

absl::StatusOr<SegmentationSpec> ParseSegmentationSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string task, StringField(j, "task", where, kKind));
  if (task != kKind) return Bad(absl::StrCat("task must be '", kKind, "'"));
  SegmentationSpec s;
  SCV_ASSIGN_OR_RETURN(s.target, StringField(j, "target", where, s.target));
  if (s.target != "lungs" && s.target != "lesions") return Bad("target must be lungs or lesions");
  SCV_ASSIGN_OR_RETURN(const int64_t in_plane, IntField(j, "in_plane", where, 64, 16, 1024));
  s.in_plane = static_cast<int>(in_plane);
  SCV_ASSIGN_OR_RETURN(s.validation_fraction,
                       NumberField(j, "validation_fraction", where, s.validation_fraction));
  if (!(s.validation_fraction >= 0 && s.validation_fraction <= 1)) {
    return Bad("validation_fraction must be in [0, 1]");
  }
  SCV_ASSIGN_OR_RETURN(const int64_t max_series, IntField(j, "max_series", where, 0, 0, 100000));
  s.max_series = static_cast<int>(max_series);
  SCV_ASSIGN_OR_RETURN(s.augment, ParseAugment(j));
  SCV_ASSIGN_OR_RETURN(s.evaluate_all, BoolField(j, "evaluate_all", where, false));
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(min_cell);
  if (j.contains("model_config") && !j.at("model_config").is_null()) {
    if (!j.at("model_config").is_object()) return Bad("model_config must be an object");
    s.model_config = j.at("model_config").dump();
  }
  return s;
}

std::string ToJson(const SegmentationSpec& s) {
  json j = {{"task", kKind},
            {"target", s.target},
            {"in_plane", s.in_plane},
            {"validation_fraction", s.validation_fraction},
            {"max_series", s.max_series},
            {"augment", AugmentName(s.augment)},
            {"evaluate_all", s.evaluate_all}};
  if (s.min_cell_count != 0) j["min_cell_count"] = s.min_cell_count;
  if (!s.model_config.empty()) {
    json config = json::parse(s.model_config, nullptr, false);
    j["model_config"] = config.is_object() ? config : json::object();
  }
  return j.dump();
}

std::string SegLesionDiceMetric(int c) {
  return absl::StrCat("global.dice_", kSegLesionClasses[c - 1]);
}
std::string SegLesionRveMetric(int c) {
  return absl::StrCat("global.rve_", kSegLesionClasses[c - 1]);
}

std::vector<std::string> SegmentationMetricNames(const std::string& target) {
  std::vector<std::string> names = {
      kSegNVal,           kSegNVoxels,      kSegNLungAgree,      kSegLungAccuracy,
      kSegTrainLossStart, kSegTrainLossEnd, kSegSlicesPerSecond, kSegValWithheld};
  if (target == "lungs") {
    names.push_back(kSegDiceRight);
    names.push_back(kSegDiceLeft);
    return names;
  }
  for (const char* n :
       {kSegNLesionTp, kSegNLesionFp, kSegNLesionFn, kSegLesionF1, kSegLesionCountsWithheld}) {
    names.push_back(n);
  }
  for (int c = 1; c <= 4; ++c) {
    names.push_back(SegLesionDiceMetric(c));
    names.push_back(SegLesionRveMetric(c));
  }
  return names;
}

}  // namespace scancov::wire
