// What every RoundAccumulator shares: the round's layout (names, shapes, dtypes, element offsets
// into one flat buffer) and the per-update protocol (BeginUpdate, AddTensor once per tensor,
// EndUpdate; unusable after an error; Finish once). Concrete accumulators implement the On*
// hooks and see only tensors that match the layout byte for byte in size.
#ifndef SCANCOV_AGGREGATOR_STRATEGY_LAYOUT_H_
#define SCANCOV_AGGREGATOR_STRATEGY_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "aggregator/server/strategy.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct TensorSlot {
  std::string name;
  std::vector<int64_t> shape;
  protocol::DType dtype;
  size_t elements;     // NumElements(shape)
  size_t offset;       // first element in a flat buffer of every tensor in layout order
  size_t byte_offset;  // first byte in the concatenated bytes of every tensor in layout order
};

class TensorLayout {
 public:
  explicit TensorLayout(const protocol::TensorSet& layout);
  size_t size() const { return slots_.size(); }
  const TensorSlot& slot(size_t index) const { return slots_[index]; }
  const std::vector<TensorSlot>& slots() const { return slots_; }
  size_t total_elements() const { return total_elements_; }
  size_t total_bytes() const { return total_bytes_; }
  // OK if `tensor` fits slot `index`: index in range, name, shape, dtype, byte count.
  absl::Status Check(size_t index, const protocol::Tensor& tensor) const;
  // OK if `set` has exactly this layout.
  absl::Status CheckSet(const protocol::TensorSet& set) const;

 private:
  std::vector<TensorSlot> slots_;
  size_t total_elements_ = 0;
  size_t total_bytes_ = 0;
};

class AccumulatorBase : public RoundAccumulator {
 public:
  AccumulatorBase(std::string strategy, const protocol::TensorSet& layout);

  absl::Status BeginUpdate(const std::string& site_id, uint64_t num_samples) final;
  absl::Status AddTensor(size_t index, const protocol::Tensor& tensor) final;
  absl::Status EndUpdate() final;
  size_t count() const final { return count_; }
  absl::StatusOr<StrategyStep> Finish(const protocol::TensorSet& global,
                                      const StrategyState& state) final;

 protected:
  // Hooks, called only in a valid sequence; an error makes the accumulator unusable. The
  // messages they return are prefixed with "<strategy>: site '<id>': " (Finish: "<strategy>: ").
  virtual absl::Status OnBegin(uint64_t num_samples) { return absl::OkStatus(); }
  // `tensor` matches slot `index`; its values are not yet checked for finiteness.
  virtual absl::Status OnTensor(size_t index, const protocol::Tensor& tensor) = 0;
  virtual absl::Status OnEnd() { return absl::OkStatus(); }
  // count() >= 1; `global` has the layout.
  virtual absl::StatusOr<StrategyStep> OnFinish(const protocol::TensorSet& global,
                                                const StrategyState& state) = 0;

  const TensorLayout& layout() const { return layout_; }
  const std::string& strategy() const { return strategy_; }
  const std::string& site_id() const { return site_id_; }
  // "tensor '<name>': element <i> is not finite (<value>)" for the first bad element.
  static absl::Status NonFinite(const protocol::Tensor& tensor);
  // A stateless strategy's check: `state` must be empty.
  absl::Status RequireNoState(const StrategyState& state) const;

 private:
  absl::Status Fail(absl::Status status);
  absl::Status Usable() const;

  const std::string strategy_;
  const TensorLayout layout_;
  absl::Status broken_;  // the first error; OK while usable
  bool spent_ = false;
  bool open_ = false;
  std::string site_id_;
  std::vector<bool> seen_;
  size_t seen_count_ = 0;
  size_t count_ = 0;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STRATEGY_LAYOUT_H_
