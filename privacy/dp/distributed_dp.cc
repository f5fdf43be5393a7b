#include "privacy/dp/distributed_dp.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace scancov::privacy::dp {

absl::StatusOr<NoiseSpec> DistributedNoise(const DpSpec& spec, int threshold) {
  if (spec.mode != DpMode::kDistributed) {
    return absl::InvalidArgumentError(
        absl::StrCat("dp distributed noise: the mode is \"", DpModeName(spec.mode), "\""));
  }
  if (threshold < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dp distributed noise: the secure-aggregation threshold must be >= 1, not ", threshold));
  }
  return NoiseSpec{spec.clip_norm, spec.noise_multiplier, DistributedShare(threshold)};
}

double DistributedElementBound(const DpSpec& spec, int threshold) {
  const double sd =
      spec.noise_multiplier * spec.clip_norm / std::sqrt(static_cast<double>(threshold));
  return 1.01 * (spec.clip_norm + kNoiseTailSigmas * sd);
}

absl::Status CheckDistributedRange(const DpSpec& spec, int threshold, double max_abs_value,
                                   absl::string_view where) {
  if (threshold < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": distributed DP needs a secure-aggregation threshold >= 1"));
  }
  const double bound = DistributedElementBound(spec, threshold);
  if (!(max_abs_value >= bound)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": secure_aggregation.max_abs_value ", absl::StrFormat("%.6g", max_abs_value),
        " cannot hold a clipped update plus its noise: needs >= ", absl::StrFormat("%.6g", bound),
        " (clip_norm + ", kNoiseTailSigmas,
        " x noise_multiplier x clip_norm / sqrt(threshold), "
        "plus 1%)"));
  }
  return absl::OkStatus();
}

SumWeighting SumWeightingFor(const std::optional<DpSpec>& dp) {
  return dp && dp->mode == DpMode::kDistributed ? SumWeighting::kUnit : SumWeighting::kNumSamples;
}

absl::StatusOr<std::optional<DpSpec>> DpSpecOfOptions(absl::string_view privacy_json) {
  if (privacy_json.empty()) return std::optional<DpSpec>();
  const nlohmann::json options = nlohmann::json::parse(privacy_json, nullptr, false);
  if (!options.is_object()) {
    return absl::InvalidArgumentError("privacy options: not a JSON object");
  }
  if (!options.contains("dp")) return std::optional<DpSpec>();
  absl::StatusOr<DpSpec> spec = ParseDpSpec(options.at("dp"), "privacy.dp");
  if (!spec.ok()) return spec.status();
  return std::optional<DpSpec>(*spec);
}

}  // namespace scancov::privacy::dp
