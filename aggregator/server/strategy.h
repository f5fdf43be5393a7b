// Aggregation strategies: interchangeable objects that fold validated client updates into the
// next global model (after Flower's `strategy/`), one update at a time.
//
// A round is a RoundAccumulator made by AggregationStrategy::Begin for the round's layout (names,
// shapes, dtypes). Updates are folded in as they arrive, tensor by tensor, so that an update never
// has to be in memory as a whole; Finish turns what was folded into the next global model and the
// strategy's state for the next round (StrategyState, e.g. FedAdam's moments), which the caller
// stores and hands back.
//
// Strategies (MakeStrategy's spec strings):
//   "fedavg", "fedprox"   FedAvg (McMahan et al. 2017): mean weighted by num_samples. FedProx's
//                         server step is FedAvg's; its proximal term is in the clients' objective.
//                         Streaming: holds one double per model element (8 bytes), whatever the
//                         number of updates. Stateless.
//   "fedadam[:opts]",     FedOpt (Reddi et al. 2021, "Adaptive Federated Optimization", Alg. 2):
//   "fedyogi[:opts]"      the pseudo-gradient (weighted mean - global) drives a server Adam/Yogi
//                         step. Streaming; state = "m/<name>", "v/<name>". See strategy_fedopt.h.
//   "median"              coordinate-wise median.
//   "trimmed_mean:<k>"    coordinate-wise mean without the k largest and k smallest values.
//   "krum:<f>"            Krum (Blanchard et al. 2017): the update closest to its n-f-2 nearest.
//   "multikrum:<f>:<m>"   Multi-Krum: unweighted mean of the m updates with the best Krum scores.
// The robust strategies (median, trimmed mean, Krum) ignore num_samples, so that a site cannot
// buy influence by claiming samples, and are NOT streaming: they keep every update's tensors until
// Finish (bytes_held grows with the number of updates). See strategy_robust.h, strategy_krum.h.
//
// Every strategy computes in double precision and writes each tensor back in its own dtype
// (floats rounded to nearest even; integer tensors, e.g. BatchNorm's num_batches_tracked, take
// the strategy's combination of the values rounded to the nearest integer; FedAdam/FedYogi give
// integer tensors the weighted mean, not the optimizer step).
//
// Every accumulator checks each tensor against the layout (index in range, name, shape, dtype,
// byte count; each tensor exactly once per update) and refuses non-finite values; errors say
// "<strategy>: site '<id>': tensor '<name>': <why>".
//
// Thread safety: strategies are immutable and thread-safe. A RoundAccumulator is not
// synchronised: one caller at a time (its kernels use threads internally, see
// aggregation_kernels.h).
#ifndef SCANCOV_AGGREGATOR_STRATEGY_H_
#define SCANCOV_AGGREGATOR_STRATEGY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct ClientUpdate {
  std::string site_id;
  uint64_t num_samples = 0;
  const protocol::TensorSet* weights = nullptr;  // not owned
};

// Tensors named "<slot>/<tensor name>"; empty when stateless (and on a stateful strategy's first
// round).
using StrategyState = protocol::TensorSet;

struct StrategyStep {
  protocol::TensorSet global;
  StrategyState state;
};

class RoundAccumulator {
 public:
  virtual ~RoundAccumulator() = default;
  // One site's update, tensor by tensor: BeginUpdate, AddTensor for every tensor of the layout
  // (index = position in the layout; each exactly once, in any order), EndUpdate. An update that
  // was begun counts only once EndUpdate succeeded. After any error the accumulator is unusable:
  // every later call returns FailedPrecondition (the federation rebuilds it from the accepted
  // updates). The tensor is read during the call and not kept by reference.
  virtual absl::Status BeginUpdate(const std::string& site_id, uint64_t num_samples) = 0;
  virtual absl::Status AddTensor(size_t index, const protocol::Tensor& tensor) = 0;
  virtual absl::Status EndUpdate() = 0;
  absl::Status Add(const ClientUpdate& update);  // the three above for an in-memory update
  virtual size_t count() const = 0;              // updates folded in
  virtual uint64_t bytes_held() const = 0;       // memory the accumulator holds now
  // The next global model. `global` = the round's input model (its layout must be the
  // accumulator's; may be empty for a strategy whose NeedsGlobal() is false); `state` = what the
  // previous round's Finish returned (empty on the first round; a stateless strategy refuses a
  // non-empty one). Needs count() >= 1 and no update open. Spent afterwards.
  virtual absl::StatusOr<StrategyStep> Finish(const protocol::TensorSet& global,
                                              const StrategyState& state) = 0;
};

class AggregationStrategy {
 public:
  virtual ~AggregationStrategy() = default;
  virtual std::string name() const = 0;
  // true: accumulator memory is independent of the number of updates (weighted sums).
  virtual bool streaming() const = 0;
  // true: Finish reads the round's input model's values (server optimisers step from it).
  // false: the next model comes from the updates alone, and Finish may be given an empty set
  // (the aggregator then never decodes the input model to close a round).
  virtual bool NeedsGlobal() const { return true; }
  // An accumulator for a round whose model has `layout`'s names/shapes/dtypes (values unused,
  // not kept).
  virtual std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const = 0;
  // Begin + Add(each) + Finish. No updates: FailedPrecondition.
  absl::StatusOr<StrategyStep> Aggregate(const protocol::TensorSet& global,
                                         const std::vector<ClientUpdate>& updates,
                                         const StrategyState& state = {}) const;
};

// One of the spec strings listed above ("" is "fedavg"). Unknown names or options, malformed or
// out-of-range values: InvalidArgument naming the spec and the offending part.
absl::StatusOr<std::unique_ptr<AggregationStrategy>> MakeStrategy(const std::string& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_H_
