// Distributed DP (DpMode::kDistributed): the noise of DP-FedAvg spread over the sites of a
// training study whose updates are summed under secure aggregation (privacy/secagg). The node
// (node/dp_filter.h) noises its update with it, the node's secure-aggregation payload and the
// aggregator's unmasking (aggregator/server/federation_secagg.cc) weigh the sites with it, and
// study creation checks the fixed-point range with it.
//
// Each site clips its update (trained - global) to C in L2, as in site mode, and adds
// N(0, (sigma C)^2 / t) to every element, t the secure-aggregation threshold: the aggregator can
// unmask no sum of fewer than t sites, so any sum it learns, of m >= t sites, carries noise of
// variance (m / t) (sigma C)^2 >= (sigma C)^2 on every element, what site mode puts on one site's
// release. The guarantee therefore rests on a trust assumption: at least t of the sites in every
// sum follow the protocol (add their share and keep it secret). A site's own share alone is only
// sigma C / sqrt(t); against an aggregator colluding with all but one site of a sum, that site's
// release is protected as by noise multiplier sigma / sqrt(t).
//
// Every site weighs 1 in the sum (SumWeighting::kUnit): FedAvg's num_samples weights would scale
// one site's update, hence its sensitivity, by its own count, and the sum's noise would no longer
// cover it evenly. The aggregator's next model is global + sum / m.
//
// Fixed point: an element a site masks is a clipped coordinate (|x| <= C) plus its noise; the
// study's max_abs_value must cover C + kNoiseTailSigmas noise standard deviations (a Gaussian
// passes 10 sd with probability 1.5e-23 per element). A value beyond it is refused by the
// encoder (privacy/secagg/fixed_point.h): that site drops out of the round, nothing leaves.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PRIVACY_DP_DISTRIBUTED_DP_H_
#define SCANCOV_PRIVACY_DP_DISTRIBUTED_DP_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/dp/dp_spec.h"
#include "privacy/dp/update_clipping.h"

namespace scancov::privacy::dp {

inline constexpr double kNoiseTailSigmas = 10.0;

// The noise one site adds: {C, sigma, share 1 / threshold}. InvalidArgument unless the spec's
// mode is distributed and threshold >= 1.
absl::StatusOr<NoiseSpec> DistributedNoise(const DpSpec& spec, int threshold);

// C + kNoiseTailSigmas x sigma C / sqrt(threshold), with a margin of 1% for the rounding of the
// noised weights to their dtype: the largest |element| a site's vector is expected to reach.
double DistributedElementBound(const DpSpec& spec, int threshold);

// OK when a study asking for distributed DP may run with secure aggregation at `threshold` and
// `max_abs_value`; InvalidArgument "<where>: ..." saying which bound fails otherwise.
absl::Status CheckDistributedRange(const DpSpec& spec, int threshold, double max_abs_value,
                                   absl::string_view where);

// How one site's update weighs in a training round's secure sum.
enum class SumWeighting {
  kNumSamples,  // FedAvg: num_samples x update; the sum divided by the total of num_samples
  kUnit,        // distributed DP: 1 x update; the sum divided by the number of sites in it
};
SumWeighting SumWeightingFor(const std::optional<DpSpec>& dp);

// The "dp" block of a study's privacy options (StudySpec.privacy_json / Task.privacy_json):
// nullopt without one. InvalidArgument for JSON that is not an object or an invalid block.
absl::StatusOr<std::optional<DpSpec>> DpSpecOfOptions(absl::string_view privacy_json);

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_DISTRIBUTED_DP_H_
