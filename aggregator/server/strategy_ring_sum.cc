#include "aggregator/server/strategy_ring_sum.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {
namespace {

class RingSumAccumulator : public RoundAccumulator {
 public:
  explicit RingSumAccumulator(const protocol::TensorSet& layout) {
    for (const protocol::Tensor& t : layout.tensors()) {
      layout_.push_back({t.name, t.shape, static_cast<size_t>(t.NumElements())});
      sums_.emplace_back(layout_.back().elements, 0);
    }
  }

  absl::Status BeginUpdate(const std::string& site_id, uint64_t) override {
    if (broken_ || open_) return Broken("an update is already open");
    open_ = true;
    site_ = site_id;
    seen_.assign(layout_.size(), false);
    return absl::OkStatus();
  }

  absl::Status AddTensor(size_t index, const protocol::Tensor& tensor) override {
    if (broken_ || !open_) return Broken("no update open");
    if (index >= layout_.size() || seen_[index]) return Fail(tensor.name, "out of place");
    const Slot& slot = layout_[index];
    if (tensor.name != slot.name || tensor.shape != slot.shape ||
        tensor.dtype != protocol::DType::kInt64 || tensor.bytes.size() != slot.elements * 8) {
      return Fail(tensor.name, "not the masked layout (int64, the round model's name and shape)");
    }
    std::vector<uint64_t>& sum = sums_[index];
    for (size_t i = 0; i < slot.elements; ++i) {
      uint64_t v;
      std::memcpy(&v, tensor.bytes.data() + 8 * i, 8);
      sum[i] += v;  // modulo 2^64
    }
    seen_[index] = true;
    return absl::OkStatus();
  }

  absl::Status EndUpdate() override {
    if (broken_ || !open_) return Broken("no update open");
    for (size_t i = 0; i < seen_.size(); ++i) {
      if (!seen_[i]) return Fail(layout_[i].name, "missing from the update");
    }
    open_ = false;
    ++count_;
    return absl::OkStatus();
  }

  size_t count() const override { return count_; }
  uint64_t bytes_held() const override {
    uint64_t n = 0;
    for (const Slot& s : layout_) n += 8 * s.elements;
    return n;
  }

  absl::StatusOr<StrategyStep> Finish(const protocol::TensorSet&,
                                      const StrategyState& state) override {
    if (broken_ || open_ || count_ == 0) return Broken("nothing to finish");
    if (!state.empty()) return absl::InvalidArgumentError("secagg_ring_sum: stateless");
    StrategyStep step;
    for (size_t i = 0; i < layout_.size(); ++i) {
      protocol::Tensor t{layout_[i].name, layout_[i].shape, protocol::DType::kInt64, {}};
      t.bytes.resize(8 * layout_[i].elements);
      std::memcpy(t.bytes.data(), sums_[i].data(), t.bytes.size());
      std::vector<uint64_t>().swap(sums_[i]);
      if (absl::Status added = step.global.Add(std::move(t)); !added.ok()) return added;
    }
    broken_ = true;  // spent
    return step;
  }

 private:
  struct Slot {
    std::string name;
    std::vector<int64_t> shape;
    size_t elements = 0;
  };
  absl::Status Broken(const char* why) {
    broken_ = true;
    return absl::FailedPreconditionError(absl::StrCat("secagg_ring_sum: ", why));
  }
  absl::Status Fail(const std::string& tensor, const char* why) {
    broken_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat("secagg_ring_sum: site '", site_, "': tensor '", tensor, "': ", why));
  }

  std::vector<Slot> layout_;
  std::vector<std::vector<uint64_t>> sums_;
  std::vector<bool> seen_;
  std::string site_;
  bool open_ = false;
  bool broken_ = false;
  size_t count_ = 0;
};

}  // namespace

std::unique_ptr<RoundAccumulator> RingSumStrategy::Begin(const protocol::TensorSet& layout) const {
  return std::make_unique<RingSumAccumulator>(layout);
}

protocol::TensorSet RingLayout(const protocol::TensorSet& model) {
  protocol::TensorSet out;
  for (const protocol::Tensor& t : model.tensors()) {
    protocol::Tensor ring{t.name, t.shape, protocol::DType::kInt64, {}};
    ring.bytes.assign(8 * static_cast<size_t>(t.NumElements()), '\0');
    out.Add(std::move(ring)).IgnoreError();  // names unique, shapes valid: as in `model`
  }
  return out;
}

v1::WeightsManifest RingLayout(const v1::WeightsManifest& model) {
  v1::WeightsManifest out = model;
  uint64_t offset = 0;
  for (v1::TensorSpec& t : *out.mutable_tensors()) {
    uint64_t elements = 1;
    for (int64_t d : t.shape()) elements *= static_cast<uint64_t>(d);
    t.set_dtype(v1::DTYPE_INT64);
    t.set_offset(offset);
    t.set_nbytes(8 * elements);
    offset += 8 * elements;
  }
  out.set_total_bytes(offset);
  return out;
}

std::vector<uint64_t> RingVector(const protocol::TensorSet& ring_sum) {
  std::vector<uint64_t> out;
  out.reserve(ring_sum.TotalBytes() / 8);
  for (const protocol::Tensor& t : ring_sum.tensors()) {
    const size_t n = t.bytes.size() / 8;
    const size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, t.bytes.data(), 8 * n);
  }
  return out;
}

uint64_t ElementCount(const v1::WeightsManifest& manifest) {
  uint64_t n = 0;
  for (const v1::TensorSpec& t : manifest.tensors()) {
    uint64_t elements = 1;
    for (int64_t d : t.shape()) elements *= static_cast<uint64_t>(d);
    n += elements;
  }
  return n;
}

}  // namespace scancov::aggregator
