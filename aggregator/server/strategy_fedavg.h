// FedAvg (McMahan et al. 2017) and the streaming weighted sum it shares with FedOpt.
//
// WeightedAccumulator folds each update into sum_i n_i x_i, one double per model element in one
// flat buffer (8 bytes per element: bytes_held is that buffer, independent of the number of
// updates), and sum_i n_i, with n_i = the update's num_samples (> 0, else refused). The mean is
// exact to double rounding and independent of arrival order up to that rounding (one ulp at most
// after narrowing to float32). Integer tensors are averaged too (exact while |n_i x_i| sums stay
// below 2^53) and rounded to the nearest integer.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_FEDAVG_H_
#define SCANCOV_AGGREGATOR_STRATEGY_FEDAVG_H_

#include <memory>
#include <string>

#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/strategy_layout.h"

namespace scancov::aggregator {

class WeightedAccumulator : public AccumulatorBase {
 public:
  WeightedAccumulator(std::string strategy, const protocol::TensorSet& layout);
  uint64_t bytes_held() const override { return sums_.size(); }

 protected:
  absl::Status OnBegin(uint64_t num_samples) override;
  absl::Status OnTensor(size_t index, const protocol::Tensor& tensor) override;
  absl::Status OnEnd() override;

  // sum_i n_i x_i for the slot's elements, and sum_i n_i over the completed updates.
  const double* sums(const TensorSlot& slot) const { return sums_.doubles() + slot.offset; }
  double total_weight() const { return total_weight_; }
  // The weighted mean of slot `index`, narrowed to its dtype.
  protocol::Tensor Mean(size_t index) const;

 private:
  kernels::Buffer sums_;  // doubles
  double weight_ = 0;     // the open update's
  double total_weight_ = 0;
};

class FedAvg : public AggregationStrategy {
 public:
  std::string name() const override { return "fedavg"; }
  bool streaming() const override { return true; }
  bool NeedsGlobal() const override { return false; }
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_FEDAVG_H_
