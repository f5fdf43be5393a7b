// FedAdam and FedYogi: adaptive server optimisers over the clients' pseudo-gradient (Reddi et
// al. 2021, "Adaptive Federated Optimization", ICLR, Algorithm 2):
//
//   Delta_t = mean_i(x_i) - x_t                               (the pseudo-gradient)
//   m_t = beta1 m_{t-1} + (1 - beta1) Delta_t
//   v_t = beta2 v_{t-1} + (1 - beta2) Delta_t^2                          (FedAdam)
//   v_t = v_{t-1} - (1 - beta2) Delta_t^2 sign(v_{t-1} - Delta_t^2)      (FedYogi)
//   x_{t+1} = x_t + eta m_t / (sqrt(v_t) + tau)                (element-wise; no bias correction)
//
// Differences from the paper, on purpose: mean_i is weighted by num_samples, like FedAvg (the
// paper's is unweighted over the sampled clients); the algorithm's input "v_{-1} >= tau^2" is
// taken at its bound, so an empty state (first round) means m_{-1} = 0, v_{-1} = tau^2.
//
// Streaming: the accumulator is FedAvg's weighted sum (strategy_fedavg.h); Finish reads the
// global model and the state tensor by tensor. State: "m/<name>" and "v/<name>" for each floating
// tensor, in layout order, as float64 whatever the tensor's dtype: the moments then round-trip
// exactly (a round resumed from the stored state is bit for bit the uninterrupted run), and v,
// which sits near tau^2 (1e-6 by default) and whose square root divides the step, keeps its
// precision; the price is 16 bytes of state per parameter. Any floating dtype is accepted on input.
// Integer tensors (e.g. num_batches_tracked) take the weighted mean and have no state.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_FEDOPT_H_
#define SCANCOV_AGGREGATOR_STRATEGY_FEDOPT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "aggregator/server/strategy.h"

namespace scancov::aggregator {

// Defaults: beta1, beta2 as fixed in the paper's experiments (Sec. 5); tau = 1e-3 and eta = 1e-2,
// values from the paper's tuning grids (its best values depend on the task: tune eta first).
struct FedOptOptions {
  double eta = 1e-2;    // server learning rate, > 0
  double beta1 = 0.9;   // first-moment decay, in [0, 1)
  double beta2 = 0.99;  // second-moment decay, in [0, 1)
  double tau = 1e-3;    // adaptivity (denominator floor), > 0
};

enum class FedOptMethod { kAdam, kYogi };

// "key=value,key=value" with keys eta, beta1, beta2, tau (any subset; "" = defaults). Unknown or
// repeated keys, malformed or out-of-range values: InvalidArgument naming the key.
absl::StatusOr<FedOptOptions> ParseFedOptOptions(absl::string_view options);

class FedOpt : public AggregationStrategy {
 public:
  FedOpt(FedOptMethod method, FedOptOptions options) : method_(method), options_(options) {}
  std::string name() const override {
    return method_ == FedOptMethod::kAdam ? "fedadam" : "fedyogi";
  }
  bool streaming() const override { return true; }
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;
  const FedOptOptions& options() const { return options_; }

 private:
  FedOptMethod method_;
  FedOptOptions options_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_FEDOPT_H_
