#include "aggregator/server/strategy_layout.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "aggregator/server/aggregation_kernels.h"

namespace scancov::aggregator {

using protocol::DTypeName;
using protocol::DTypeSize;
using protocol::ShapeString;
using protocol::Tensor;
using protocol::TensorSet;

TensorLayout::TensorLayout(const TensorSet& layout) {
  slots_.reserve(layout.size());
  for (const Tensor& t : layout.tensors()) {
    // TensorSet::Add has checked the shape, so NumElements() >= 0.
    const size_t elements = static_cast<size_t>(t.NumElements());
    slots_.push_back({t.name, t.shape, t.dtype, elements, total_elements_, total_bytes_});
    total_elements_ += elements;
    total_bytes_ += t.bytes.size();
  }
}

absl::Status TensorLayout::Check(size_t index, const Tensor& tensor) const {
  if (index >= slots_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.name, "': index ", index,
                                                   " out of range (", slots_.size(), " tensors)"));
  }
  const TensorSlot& s = slots_[index];
  if (tensor.name != s.name) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor #", index, ": expected name '", s.name, "', got '", tensor.name, "'"));
  }
  if (tensor.shape != s.shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", s.name, "': expected shape ",
                                                   ShapeString(s.shape), ", got ",
                                                   ShapeString(tensor.shape)));
  }
  if (tensor.dtype != s.dtype) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", s.name, "': expected dtype ",
                                                   DTypeName(s.dtype), ", got ",
                                                   DTypeName(tensor.dtype)));
  }
  if (tensor.bytes.size() != s.elements * DTypeSize(s.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", s.name, "': ", tensor.bytes.size(),
                                                   " bytes, expected ",
                                                   s.elements * DTypeSize(s.dtype)));
  }
  return absl::OkStatus();
}

absl::Status TensorLayout::CheckSet(const TensorSet& set) const {
  if (set.size() != slots_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", slots_.size(), " tensors, got ", set.size()));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (absl::Status s = Check(i, set.tensors()[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

AccumulatorBase::AccumulatorBase(std::string strategy, const TensorSet& layout)
    : strategy_(std::move(strategy)), layout_(layout), seen_(layout.size(), false) {}

absl::Status AccumulatorBase::Fail(absl::Status status) {
  if (broken_.ok()) broken_ = status;
  return status;
}

absl::Status AccumulatorBase::Usable() const {
  if (!broken_.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        strategy_, ": accumulator unusable after an earlier error (", broken_.message(), ")"));
  }
  if (spent_) return absl::FailedPreconditionError(absl::StrCat(strategy_, ": round finished"));
  return absl::OkStatus();
}

absl::Status AccumulatorBase::BeginUpdate(const std::string& site_id, uint64_t num_samples) {
  if (absl::Status s = Usable(); !s.ok()) return s;
  if (open_) {
    return Fail(absl::FailedPreconditionError(absl::StrCat(strategy_, ": site '", site_id,
                                                           "': update of site '", site_id_,
                                                           "' still open (EndUpdate not called)")));
  }
  open_ = true;
  site_id_ = site_id;
  seen_.assign(layout_.size(), false);
  seen_count_ = 0;
  if (absl::Status s = OnBegin(num_samples); !s.ok()) {
    return Fail(
        absl::Status(s.code(), absl::StrCat(strategy_, ": site '", site_id_, "': ", s.message())));
  }
  return absl::OkStatus();
}

absl::Status AccumulatorBase::AddTensor(size_t index, const Tensor& tensor) {
  if (absl::Status s = Usable(); !s.ok()) return s;
  const std::string where = absl::StrCat(strategy_, ": site '", site_id_, "': ");
  if (!open_) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat(strategy_, ": tensor '", tensor.name, "' outside an update")));
  }
  absl::Status s = layout_.Check(index, tensor);
  if (s.ok() && seen_[index]) {
    s = absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.name, "': given twice"));
  }
  if (s.ok()) s = OnTensor(index, tensor);
  if (!s.ok()) return Fail(absl::Status(s.code(), absl::StrCat(where, s.message())));
  seen_[index] = true;
  ++seen_count_;
  return absl::OkStatus();
}

absl::Status AccumulatorBase::EndUpdate() {
  if (absl::Status s = Usable(); !s.ok()) return s;
  if (!open_) {
    return Fail(
        absl::FailedPreconditionError(absl::StrCat(strategy_, ": EndUpdate without an update")));
  }
  absl::Status s;
  if (seen_count_ != layout_.size()) {
    size_t missing = 0;
    while (seen_[missing]) ++missing;
    s = absl::InvalidArgumentError(absl::StrCat("tensor '", layout_.slot(missing).name,
                                                "' missing (", layout_.size() - seen_count_, " of ",
                                                layout_.size(), " not given)"));
  }
  if (s.ok()) s = OnEnd();
  if (!s.ok()) {
    return Fail(
        absl::Status(s.code(), absl::StrCat(strategy_, ": site '", site_id_, "': ", s.message())));
  }
  open_ = false;
  ++count_;
  return absl::OkStatus();
}

absl::StatusOr<StrategyStep> AccumulatorBase::Finish(const TensorSet& global,
                                                     const StrategyState& state) {
  if (absl::Status s = Usable(); !s.ok()) return s;
  absl::Status s;
  if (open_) {
    s = absl::FailedPreconditionError(absl::StrCat("update of site '", site_id_, "' still open"));
  } else if (count_ == 0) {
    s = absl::FailedPreconditionError("no client updates");
  } else if (absl::Status g = global.empty() ? absl::OkStatus() : layout_.CheckSet(global);
             !g.ok()) {
    s = absl::InvalidArgumentError(absl::StrCat("global model: ", g.message()));
  }
  spent_ = true;
  if (!s.ok()) return Fail(absl::Status(s.code(), absl::StrCat(strategy_, ": ", s.message())));
  absl::StatusOr<StrategyStep> step = OnFinish(global, state);
  if (!step.ok()) {
    return Fail(
        absl::Status(step.status().code(), absl::StrCat(strategy_, ": ", step.status().message())));
  }
  return step;
}

absl::Status AccumulatorBase::NonFinite(const Tensor& tensor) {
  const size_t n = tensor.bytes.size() / DTypeSize(tensor.dtype);
  const size_t i = kernels::FirstNonFinite(tensor.dtype, tensor.bytes.data(), n);
  double value = 0;
  if (i < n)
    kernels::Widen(tensor.dtype, tensor.bytes.data() + i * DTypeSize(tensor.dtype), 1, &value);
  return absl::InvalidArgumentError(
      absl::StrCat("tensor '", tensor.name, "': element ", i, " is not finite (", value, ")"));
}

absl::Status AccumulatorBase::RequireNoState(const StrategyState& state) const {
  if (state.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("stateless, but given a state of ", state.size(),
                                                 " tensors (first '", state.tensors()[0].name,
                                                 "')"));
}

}  // namespace scancov::aggregator
