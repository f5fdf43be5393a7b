// The DP block of a study spec: how a training study asks for differential privacy.
//
//   "dp": {"clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5, "mode": "site"}
//   "dp": {"clip_norm": 1.0, "noise_multiplier": 1.1, "delta": 1e-5, "mode": "dp_sgd",
//          "sample_rate": 0.01}
//
// mode:
//   "site"         each site clips its model update to clip_norm and adds N(0, (sigma C)^2)
//                  before sending (local DP-FedAvg; update_clipping.h, share 1);
//   "distributed"  each site clips as in "site" and adds N(0, (sigma C)^2 / t), t the study's
//                  secure-aggregation threshold (required), and the updates are summed under
//                  secure aggregation, so any sum of >= t sites carries at least sigma C
//                  (share 1/t; distributed_dp.h);
//   "dp_sgd"       each site trains with DP-SGD: per-example gradients clipped to clip_norm,
//                  N(0, (sigma C)^2) added to their sum at each step, batches drawn by Poisson
//                  sampling at sample_rate.
// Every key is required ("sample_rate" only, and always, for dp_sgd); an unknown key is refused,
// so that a misspelt parameter is never silently replaced by a default.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PRIVACY_DP_DP_SPEC_H_
#define SCANCOV_PRIVACY_DP_DP_SPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace scancov::privacy::dp {

enum class DpMode { kSite, kDistributed, kDpSgd };

// "site", "distributed", "dp_sgd".
absl::string_view DpModeName(DpMode mode);

struct DpSpec {
  double clip_norm = 1.0;
  double noise_multiplier = 1.0;
  double delta = 1e-5;
  DpMode mode = DpMode::kSite;
  double sample_rate = 1.0;  // dp_sgd only; 1 for the other modes
};

// The accepted ranges. Below a noise multiplier of 0.3 the guarantee is too weak to be worth
// stating (TensorFlow Privacy's guidance); delta must be small (well below 1 / patients).
inline constexpr double kMinClipNorm = 1e-6;
inline constexpr double kMaxClipNorm = 1e6;
inline constexpr double kMinNoiseMultiplier = 0.3;
inline constexpr double kMaxNoiseMultiplier = 1e3;
inline constexpr double kMinDelta = 1e-15;
inline constexpr double kMaxDelta = 1e-3;
inline constexpr double kMinSampleRate = 1e-9;

// Parses and validates the block; InvalidArgument "<where>: <key> ..." naming the key at fault.
absl::StatusOr<DpSpec> ParseDpSpec(const nlohmann::json& block, absl::string_view where = "dp");

// The block for a spec (ParseDpSpec's inverse for a valid spec).
nlohmann::json DpSpecToJson(const DpSpec& spec);

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_DP_SPEC_H_
