// Clipping and Gaussian noise for model updates (DP-FedAvg, McMahan et al. 2018): what a site
// releases is global + clip(local - global) + noise instead of its local weights.
//
// The update is local - global over the set's floating tensors (float32, float64, float16,
// bfloat16), computed in double. Integer and boolean tensors (BatchNorm's num_batches_tracked)
// are not part of the update: they are neither clipped nor noised, and the released set carries
// the local value unchanged. Such a counter reveals how many batches the site trained on; a
// caller who must hide that replaces it before release.
//
// Clipping scales the whole update by min(1, C / ||update||_2) (the global L2 norm over every
// floating tensor), so the released update has norm <= C; an update already within C is left
// exactly as it is. Noise N(0, (sigma C)^2 share) is added to every element:
//   share = 1      noise at the site (local DP-FedAvg): the site's release carries sigma C;
//   share = 1 / t  noise distributed across sites under secure aggregation, t the threshold:
//                  any sum of >= t sites' updates carries sigma C, but one site's own noise is
//                  only sigma C / sqrt(t), so its guarantee rests on the other sites adding
//                  theirs (distributed_dp.h).
// The sensitivity of a site's clipped update to one patient is 2C (both updates lie anywhere in
// the ball of radius C); see dp_spec.h for how this enters the accountant.
//
// Values are written back in each tensor's dtype (rounding is post-processing of the noised
// update and the public global weights, and does not weaken the guarantee). Non-finite input is
// refused with an error naming the tensor; so is a result that overflows its dtype.
//
// Thread safety: pure functions, except that the GaussianSource is used (not synchronised).
#ifndef SCANCOV_PRIVACY_DP_UPDATE_CLIPPING_H_
#define SCANCOV_PRIVACY_DP_UPDATE_CLIPPING_H_

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "privacy/dp/gaussian_source.h"
#include "protocol/tensor_set.h"

namespace scancov::privacy::dp {

// local - global of each floating tensor, in double, in the sets' order.
struct ModelUpdate {
  struct Part {
    size_t index = 0;            // position of the tensor in the TensorSet
    std::vector<double> values;  // one per element
  };
  std::vector<Part> parts;
};

// The update, after checking that both sets have the same layout and that every floating value
// (and every difference) is finite. InvalidArgument "dp update: ..." naming the tensor otherwise.
absl::StatusOr<ModelUpdate> ComputeUpdate(const protocol::TensorSet& local,
                                          const protocol::TensorSet& global);

// The global L2 norm, computed without overflow or underflow of the squares (it may still be
// +inf if the norm itself exceeds the double range).
double L2Norm(const ModelUpdate& update);

// Scales the update to norm <= clip_norm (> 0, finite) and returns the factor applied,
// min(1, clip_norm / norm); 1 leaves every value untouched.
absl::StatusOr<double> ClipToNorm(double clip_norm, ModelUpdate* update);

struct NoiseSpec {
  double clip_norm = 1.0;         // C > 0
  double noise_multiplier = 0.0;  // sigma >= 0 (0: clipping only)
  double share = 1.0;             // in (0, 1]: 1 at the site, 1 / t distributed (threshold t)
};
absl::Status CheckNoiseSpec(const NoiseSpec& spec);
// The share of noise each site adds when any sum has at least `num_sites` sites: 1 / num_sites.
double DistributedShare(int num_sites);
// sigma * C * sqrt(share): the standard deviation of the noise on each element.
double NoiseStddev(const NoiseSpec& spec);

// Adds independent N(0, stddev^2) to every element (stddev >= 0; 0 draws nothing).
absl::Status AddGaussianNoise(double stddev, GaussianSource& source, ModelUpdate* update);

// global + update, tensor by tensor in each dtype; tensors without a part (integer, boolean)
// are copied from `local`. The update must come from ComputeUpdate on these sets.
absl::StatusOr<protocol::TensorSet> ApplyUpdate(const protocol::TensorSet& local,
                                                const protocol::TensorSet& global,
                                                const ModelUpdate& update);

// What clipping did, for the site's own log (it never leaves the site: the norm is data).
struct ClipReport {
  double norm_before = 0.0;
  double scale = 1.0;
};

// ComputeUpdate, ClipToNorm(spec.clip_norm), AddGaussianNoise(NoiseStddev(spec)), ApplyUpdate:
// the weights a site releases.
absl::StatusOr<protocol::TensorSet> PrivatizeWeights(const protocol::TensorSet& local,
                                                     const protocol::TensorSet& global,
                                                     const NoiseSpec& spec, GaussianSource& source,
                                                     ClipReport* report = nullptr);

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_UPDATE_CLIPPING_H_
