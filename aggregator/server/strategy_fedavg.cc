#include "aggregator/server/strategy_fedavg.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "aggregator/server/aggregation_kernels.h"

namespace scancov::aggregator {

using protocol::Tensor;
using protocol::TensorSet;

WeightedAccumulator::WeightedAccumulator(std::string strategy, const TensorSet& layout)
    : AccumulatorBase(std::move(strategy), layout),
      sums_(this->layout().total_elements() * sizeof(double)) {}

absl::Status WeightedAccumulator::OnBegin(uint64_t num_samples) {
  if (num_samples == 0) return absl::InvalidArgumentError("reported 0 samples");
  weight_ = static_cast<double>(num_samples);
  return absl::OkStatus();
}

absl::Status WeightedAccumulator::OnTensor(size_t index, const Tensor& tensor) {
  const TensorSlot& slot = layout().slot(index);
  if (!kernels::AccumulateScaled(slot.dtype, tensor.bytes.data(), slot.elements, weight_,
                                 sums_.doubles() + slot.offset)) {
    return NonFinite(tensor);
  }
  return absl::OkStatus();
}

absl::Status WeightedAccumulator::OnEnd() {
  total_weight_ += weight_;
  return absl::OkStatus();
}

Tensor WeightedAccumulator::Mean(size_t index) const {
  const TensorSlot& slot = layout().slot(index);
  Tensor out{slot.name, slot.shape, slot.dtype, {}};
  out.bytes.resize(slot.elements * protocol::DTypeSize(slot.dtype));
  kernels::NarrowDivided(sums(slot), slot.elements, total_weight_, slot.dtype, out.bytes.data());
  return out;
}

namespace {

class FedAvgAccumulator : public WeightedAccumulator {
 public:
  explicit FedAvgAccumulator(const TensorSet& layout) : WeightedAccumulator("fedavg", layout) {}

 protected:
  absl::StatusOr<StrategyStep> OnFinish(const TensorSet& global,
                                        const StrategyState& state) override {
    if (absl::Status s = RequireNoState(state); !s.ok()) return s;
    StrategyStep step;
    for (size_t i = 0; i < layout().size(); ++i) {
      if (absl::Status s = step.global.Add(Mean(i)); !s.ok()) return s;
    }
    return step;
  }
};

}  // namespace

std::unique_ptr<RoundAccumulator> FedAvg::Begin(const TensorSet& layout) const {
  return std::make_unique<FedAvgAccumulator>(layout);
}

}  // namespace scancov::aggregator
