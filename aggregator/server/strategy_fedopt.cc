#include "aggregator/server/strategy_fedopt.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aggregator/server/aggregation_kernels.h"
#include "aggregator/server/strategy_fedavg.h"

namespace scancov::aggregator {
namespace {

using protocol::DType;
using protocol::Tensor;
using protocol::TensorSet;

absl::Status CheckRange(absl::string_view key, double value, FedOptOptions& options) {
  const bool finite = std::isfinite(value);
  if (key == "eta" || key == "tau") {
    if (!finite || value <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("option '", key, "' must be > 0 and finite, got ", value));
    }
    (key == "eta" ? options.eta : options.tau) = value;
    return absl::OkStatus();
  }
  if (key == "beta1" || key == "beta2") {
    if (!finite || value < 0 || value >= 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("option '", key, "' must be in [0, 1), got ", value));
    }
    (key == "beta1" ? options.beta1 : options.beta2) = value;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown option '", key, "'"));
}

// Reads a state tensor ("m/<name>" or "v/<name>") for `slot` into `out`.
absl::Status ReadMoment(const StrategyState& state, const std::string& name, const TensorSlot& slot,
                        bool non_negative, std::vector<double>& out) {
  const Tensor* t = state.Find(name);
  if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat("state lacks '", name, "'"));
  if (t->shape != slot.shape || !protocol::IsFloating(t->dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state '", name, "': expected a floating tensor of shape ",
                     protocol::ShapeString(slot.shape), ", got ", protocol::DTypeName(t->dtype),
                     " ", protocol::ShapeString(t->shape)));
  }
  if (!kernels::Widen(t->dtype, t->bytes.data(), slot.elements, out.data())) {
    const size_t i = kernels::FirstNonFinite(t->dtype, t->bytes.data(), slot.elements);
    return absl::InvalidArgumentError(
        absl::StrCat("state '", name, "': element ", i, " is not finite"));
  }
  if (non_negative) {
    for (size_t i = 0; i < slot.elements; ++i) {
      if (out[i] < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("state '", name, "': element ", i, " is negative (", out[i], ")"));
      }
    }
  }
  return absl::OkStatus();
}

Tensor Float64Tensor(std::string name, const TensorSlot& slot, const std::vector<double>& values) {
  Tensor t{std::move(name), slot.shape, DType::kFloat64, {}};
  t.bytes.resize(values.size() * sizeof(double));
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

class FedOptAccumulator : public WeightedAccumulator {
 public:
  FedOptAccumulator(std::string name, FedOptMethod method, FedOptOptions options,
                    const TensorSet& layout)
      : WeightedAccumulator(std::move(name), layout), method_(method), options_(options) {}

 protected:
  absl::StatusOr<StrategyStep> OnFinish(const TensorSet& global,
                                        const StrategyState& state) override {
    if (global.empty()) {
      return absl::FailedPreconditionError("needs the round's input model (it steps from it)");
    }
    size_t floating = 0;
    for (const TensorSlot& slot : layout().slots()) floating += protocol::IsFloating(slot.dtype);
    if (!state.empty() && state.size() != 2 * floating) {
      return absl::InvalidArgumentError(absl::StrCat("state has ", state.size(),
                                                     " tensors, expected ", 2 * floating,
                                                     " (m/ and v/ for each floating tensor)"));
    }
    StrategyStep step;
    for (size_t i = 0; i < layout().size(); ++i) {
      const TensorSlot& slot = layout().slot(i);
      if (!protocol::IsFloating(slot.dtype)) {
        if (absl::Status s = step.global.Add(Mean(i)); !s.ok()) return s;
        continue;
      }
      if (absl::Status s = StepTensor(slot, global.tensors()[i], state, step); !s.ok()) return s;
    }
    return step;
  }

 private:
  // One floating tensor: the optimiser step on its elements; appends the new tensor to
  // step.global and its moments to step.state.
  absl::Status StepTensor(const TensorSlot& slot, const Tensor& x_t, const StrategyState& state,
                          StrategyStep& step) const {
    const size_t n = slot.elements;
    std::vector<double> x(n), m(n, 0.0), v(n, options_.tau * options_.tau);
    if (!kernels::Widen(slot.dtype, x_t.bytes.data(), n, x.data())) {
      return absl::InvalidArgumentError(absl::StrCat("global model: ", NonFinite(x_t).message()));
    }
    if (!state.empty()) {
      if (absl::Status s = ReadMoment(state, "m/" + slot.name, slot, false, m); !s.ok()) return s;
      if (absl::Status s = ReadMoment(state, "v/" + slot.name, slot, true, v); !s.ok()) return s;
    }
    const double* sums = this->sums(slot);
    const double total = total_weight();
    const FedOptOptions o = options_;
    const bool yogi = method_ == FedOptMethod::kYogi;
    kernels::ParallelFor(n, [&](size_t begin, size_t end) {
      for (size_t k = begin; k < end; ++k) {
        const double delta = sums[k] / total - x[k];
        const double delta2 = delta * delta;
        m[k] = o.beta1 * m[k] + (1 - o.beta1) * delta;
        if (yogi) {
          const double diff = v[k] - delta2;
          const double sign = (diff > 0) - (diff < 0);
          v[k] = v[k] - (1 - o.beta2) * delta2 * sign;
        } else {
          v[k] = o.beta2 * v[k] + (1 - o.beta2) * delta2;
        }
        x[k] += o.eta * m[k] / (std::sqrt(v[k]) + o.tau);
      }
    });
    Tensor out{slot.name, slot.shape, slot.dtype, {}};
    out.bytes.resize(n * protocol::DTypeSize(slot.dtype));
    kernels::NarrowDivided(x.data(), n, 1.0, slot.dtype, out.bytes.data());
    if (absl::Status s = step.global.Add(std::move(out)); !s.ok()) return s;
    if (absl::Status s = step.state.Add(Float64Tensor("m/" + slot.name, slot, m)); !s.ok())
      return s;
    return step.state.Add(Float64Tensor("v/" + slot.name, slot, v));
  }

  const FedOptMethod method_;
  const FedOptOptions options_;
};

}  // namespace

absl::StatusOr<FedOptOptions> ParseFedOptOptions(absl::string_view options) {
  FedOptOptions out;
  if (options.empty()) return out;
  std::vector<std::string> seen;
  for (absl::string_view item : absl::StrSplit(options, ',')) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
    const std::string key(kv.first);
    if (key.empty() || item.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("option '", item, "': expected key=value"));
    }
    for (const std::string& k : seen) {
      if (k == key) return absl::InvalidArgumentError(absl::StrCat("option '", key, "' repeated"));
    }
    seen.push_back(key);
    if (key != "eta" && key != "beta1" && key != "beta2" && key != "tau") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option '", key, "' (eta, beta1, beta2, tau)"));
    }
    double value = 0;
    if (!absl::SimpleAtod(kv.second, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("option '", key, "': '", kv.second, "' is not a number"));
    }
    if (absl::Status s = CheckRange(key, value, out); !s.ok()) return s;
  }
  return out;
}

std::unique_ptr<RoundAccumulator> FedOpt::Begin(const TensorSet& layout) const {
  return std::make_unique<FedOptAccumulator>(name(), method_, options_, layout);
}

}  // namespace scancov::aggregator
