// Robust strategies that need every update at once: coordinate-wise median and trimmed mean here,
// Krum in strategy_krum.h.
//
// NOT streaming: HeldAccumulator keeps a copy of each update's tensor bytes (in their own dtype,
// one block per update) until Finish, so bytes_held grows with every update (n x model bytes).
// Sample counts are ignored (a site claiming 10^9 samples weighs as much as any other), and 0 is
// accepted: whether a count is plausible is the federation's check. Every tensor is checked for
// finiteness when it is added.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_ROBUST_H_
#define SCANCOV_AGGREGATOR_STRATEGY_ROBUST_H_

#include <memory>
#include <string>
#include <vector>

#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/strategy_layout.h"

namespace scancov::aggregator {

class HeldAccumulator : public AccumulatorBase {
 public:
  using AccumulatorBase::AccumulatorBase;
  uint64_t bytes_held() const override { return bytes_; }

 protected:
  struct Held {
    std::string site_id;
    kernels::Buffer bytes;  // every tensor's bytes, at its slot's byte_offset
    const char* tensor(const TensorSlot& slot) const { return bytes.data() + slot.byte_offset; }
  };
  absl::Status OnBegin(uint64_t num_samples) override;
  absl::Status OnTensor(size_t index, const protocol::Tensor& tensor) override;
  const std::vector<Held>& held() const { return held_; }

 private:
  std::vector<Held> held_;
  uint64_t bytes_ = 0;
};

// Coordinate-wise median (unweighted; with an even count, the mean of the two middle values).
class CoordinateMedian : public AggregationStrategy {
 public:
  std::string name() const override { return "median"; }
  bool streaming() const override { return false; }
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;
};

// Coordinate-wise trimmed mean: per coordinate, the mean of the values left once the `trim`
// largest and `trim` smallest are dropped. Finish needs more than 2 * trim updates
// (FailedPrecondition otherwise).
class TrimmedMean : public AggregationStrategy {
 public:
  explicit TrimmedMean(size_t trim) : trim_(trim) {}
  std::string name() const override { return "trimmed_mean"; }
  bool streaming() const override { return false; }
  std::unique_ptr<RoundAccumulator> Begin(const protocol::TensorSet& layout) const override;

 private:
  size_t trim_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_ROBUST_H_
