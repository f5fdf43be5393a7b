// Aggregation strategies: interchangeable objects that turn validated client updates into the
// next global model (after Flower's `strategy/`).
//
// Every strategy works on the plain TensorSet, element by element, in double precision, and
// writes each tensor back in its own dtype. Integer tensors (e.g. BatchNorm's
// num_batches_tracked) are averaged like the rest and rounded to the nearest integer.
// Strategies are stateless and thread-safe unless documented otherwise.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_H_
#define SCANCOV_AGGREGATOR_STRATEGY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct ClientUpdate {
  std::string site_id;
  uint64_t num_samples = 0;
  const protocol::TensorSet* weights = nullptr;  // not owned
};

class AggregationStrategy {
 public:
  virtual ~AggregationStrategy() = default;
  virtual std::string name() const = 0;
  // `global` is the model the clients started from (same layout as every update; the caller
  // has validated layouts, finiteness and sample counts).
  virtual absl::StatusOr<protocol::TensorSet> Aggregate(
      const protocol::TensorSet& global, const std::vector<ClientUpdate>& updates) const = 0;
};

// FedAvg (McMahan et al. 2017): mean of the client weights weighted by their sample counts.
// FedProx uses the same server step; its proximal term lives in the clients' local objective.
class FedAvg : public AggregationStrategy {
 public:
  std::string name() const override { return "fedavg"; }
  absl::StatusOr<protocol::TensorSet> Aggregate(
      const protocol::TensorSet& global, const std::vector<ClientUpdate>& updates) const override;
};

// Coordinate-wise median of the client weights (unweighted; robust to a minority of outliers).
class CoordinateMedian : public AggregationStrategy {
 public:
  std::string name() const override { return "median"; }
  absl::StatusOr<protocol::TensorSet> Aggregate(
      const protocol::TensorSet& global, const std::vector<ClientUpdate>& updates) const override;
};

// Coordinate-wise trimmed mean: drops the `trim` largest and smallest values per coordinate.
class TrimmedMean : public AggregationStrategy {
 public:
  explicit TrimmedMean(int trim) : trim_(trim) {}
  std::string name() const override { return "trimmed_mean"; }
  absl::StatusOr<protocol::TensorSet> Aggregate(
      const protocol::TensorSet& global, const std::vector<ClientUpdate>& updates) const override;

 private:
  int trim_;
};

// "fedavg", "fedprox" (FedAvg server step), "median", "trimmed_mean:<k>".
absl::StatusOr<std::unique_ptr<AggregationStrategy>> MakeStrategy(const std::string& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_H_
