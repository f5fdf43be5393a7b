#include "privacy/dp/dp_spec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

constexpr absl::string_view kKeys[] = {"clip_norm", "noise_multiplier", "delta", "mode",
                                       "sample_rate"};

absl::Status CheckKeys(const nlohmann::json& block, absl::string_view where) {
  if (!block.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": must be a JSON object"));
  }
  for (const auto& item : block.items()) {
    bool known = false;
    for (absl::string_view key : kKeys) known = known || item.key() == key;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", item.key(), "'"));
    }
  }
  return absl::OkStatus();
}

// A required number in [lo, hi].
absl::StatusOr<double> RequiredNumber(const nlohmann::json& block, const char* key,
                                      absl::string_view where, double lo, double hi) {
  if (!block.contains(key) || block.at(key).is_null()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " is required"));
  }
  SCV_ASSIGN_OR_RETURN(double value, NumberField(block, key, where, 0.0));
  if (!(value >= lo && value <= hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", key, " must be in [", lo, ", ", hi, "], not ", value));
  }
  return value;
}

absl::StatusOr<DpMode> ParseMode(const nlohmann::json& block, absl::string_view where) {
  if (!block.contains("mode")) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": mode is required"));
  }
  SCV_ASSIGN_OR_RETURN(std::string name, StringField(block, "mode", where, ""));
  for (DpMode mode : {DpMode::kSite, DpMode::kDistributed, DpMode::kDpSgd}) {
    if (name == DpModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      where, ": mode must be \"site\", \"distributed\" or \"dp_sgd\", not \"", name, "\""));
}

}  // namespace

absl::string_view DpModeName(DpMode mode) {
  switch (mode) {
    case DpMode::kSite:
      return "site";
    case DpMode::kDistributed:
      return "distributed";
    case DpMode::kDpSgd:
      return "dp_sgd";
  }
  return "site";
}

absl::StatusOr<DpSpec> ParseDpSpec(const nlohmann::json& block, absl::string_view where) {
  SCV_RETURN_IF_ERROR(CheckKeys(block, where));
  DpSpec spec;
  SCV_ASSIGN_OR_RETURN(spec.mode, ParseMode(block, where));
  SCV_ASSIGN_OR_RETURN(spec.clip_norm,
                       RequiredNumber(block, "clip_norm", where, kMinClipNorm, kMaxClipNorm));
  SCV_ASSIGN_OR_RETURN(
      spec.noise_multiplier,
      RequiredNumber(block, "noise_multiplier", where, kMinNoiseMultiplier, kMaxNoiseMultiplier));
  SCV_ASSIGN_OR_RETURN(spec.delta, RequiredNumber(block, "delta", where, kMinDelta, kMaxDelta));
  if (spec.mode == DpMode::kDpSgd) {
    SCV_ASSIGN_OR_RETURN(spec.sample_rate,
                         RequiredNumber(block, "sample_rate", where, kMinSampleRate, 1.0));
  } else if (block.contains("sample_rate")) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": sample_rate applies to mode \"dp_sgd\" only"));
  }
  return spec;
}

nlohmann::json DpSpecToJson(const DpSpec& spec) {
  nlohmann::json block = {{"clip_norm", spec.clip_norm},
                          {"noise_multiplier", spec.noise_multiplier},
                          {"delta", spec.delta},
                          {"mode", std::string(DpModeName(spec.mode))}};
  if (spec.mode == DpMode::kDpSgd) block["sample_rate"] = spec.sample_rate;
  return block;
}

}  // namespace scancov::privacy::dp
