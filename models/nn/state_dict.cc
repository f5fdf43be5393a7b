#include "models/nn/state_dict.h"

#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace scancov::nn {
namespace {

// A module's parameters then buffers, in named_parameters() / named_buffers() order.
std::vector<std::pair<std::string, torch::Tensor>> NamedState(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  return state;
}

std::string Layout(const std::vector<int64_t>& shape, protocol::DType dtype) {
  return absl::StrCat(protocol::ShapeString(shape), " ", protocol::DTypeName(dtype));
}

absl::StatusOr<protocol::Tensor> ToWire(const std::string& name, const torch::Tensor& value) {
  absl::StatusOr<protocol::DType> dtype = ToWireDType(value.scalar_type());
  if (!dtype.ok()) {
    return absl::UnimplementedError(
        absl::StrCat("ExportState: tensor '", name, "': ", dtype.status().message()));
  }
  const torch::Tensor cpu = value.detach().to(torch::kCPU).contiguous();
  protocol::Tensor out;
  out.name = name;
  out.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
  out.dtype = *dtype;
  out.bytes.resize(static_cast<size_t>(cpu.numel()) * protocol::DTypeSize(*dtype));
  if (!out.bytes.empty()) std::memcpy(out.bytes.data(), cpu.data_ptr(), out.bytes.size());
  return out;
}

// A fresh CPU tensor holding the wire bytes (copied, so their alignment does not matter).
torch::Tensor FromWire(const protocol::Tensor& wire) {
  torch::Tensor t =
      torch::empty(wire.shape, torch::TensorOptions().dtype(ToTorchDType(wire.dtype)));
  if (!wire.bytes.empty()) std::memcpy(t.data_ptr(), wire.bytes.data(), wire.bytes.size());
  return t;
}

absl::Status CheckLayout(const protocol::TensorSet& state,
                         const std::vector<std::pair<std::string, torch::Tensor>>& expected) {
  absl::flat_hash_set<std::string> names;
  for (const auto& [name, value] : expected) {
    names.insert(name);
    const protocol::Tensor* got = state.Find(name);
    if (got == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("ImportState: tensor '", name, "' is missing from the set"));
    }
    absl::StatusOr<protocol::DType> dtype = ToWireDType(value.scalar_type());
    if (!dtype.ok()) {
      return absl::UnimplementedError(
          absl::StrCat("ImportState: tensor '", name, "': ", dtype.status().message()));
    }
    const std::vector<int64_t> shape(value.sizes().begin(), value.sizes().end());
    if (got->shape != shape || got->dtype != *dtype) {
      return absl::InvalidArgumentError(absl::StrCat("ImportState: tensor '", name, "': expected ",
                                                     Layout(shape, *dtype), ", got ",
                                                     Layout(got->shape, got->dtype)));
    }
  }
  for (const protocol::Tensor& t : state.tensors()) {
    if (!names.contains(t.name)) {
      return absl::InvalidArgumentError(absl::StrCat("ImportState: unexpected tensor '", t.name,
                                                     "' (no such parameter or buffer)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<protocol::DType> ToWireDType(c10::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return protocol::DType::kFloat32;
    case torch::kFloat64:
      return protocol::DType::kFloat64;
    case torch::kFloat16:
      return protocol::DType::kFloat16;
    case torch::kBFloat16:
      return protocol::DType::kBFloat16;
    case torch::kInt64:
      return protocol::DType::kInt64;
    case torch::kInt32:
      return protocol::DType::kInt32;
    case torch::kUInt8:
      return protocol::DType::kUInt8;
    case torch::kBool:
      return protocol::DType::kBool;
    default:
      return absl::UnimplementedError(
          absl::StrCat("dtype ", c10::toString(type), " has no wire representation"));
  }
}

c10::ScalarType ToTorchDType(protocol::DType dtype) {
  switch (dtype) {
    case protocol::DType::kFloat32:
      return torch::kFloat32;
    case protocol::DType::kFloat64:
      return torch::kFloat64;
    case protocol::DType::kFloat16:
      return torch::kFloat16;
    case protocol::DType::kBFloat16:
      return torch::kBFloat16;
    case protocol::DType::kInt64:
      return torch::kInt64;
    case protocol::DType::kInt32:
      return torch::kInt32;
    case protocol::DType::kUInt8:
      return torch::kUInt8;
    case protocol::DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat32;  // unreachable: the switch covers every DType
}

absl::StatusOr<protocol::TensorSet> ExportState(const torch::nn::Module& module) {
  try {
    protocol::TensorSet set;
    for (const auto& [name, value] : NamedState(module)) {
      absl::StatusOr<protocol::Tensor> wire = ToWire(name, value);
      if (!wire.ok()) return wire.status();
      absl::Status added = set.Add(*std::move(wire));
      if (!added.ok()) return absl::InternalError(absl::StrCat("ExportState: ", added.message()));
    }
    return set;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("ExportState: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("ExportState: ", e.what()));
  }
}

absl::Status ImportState(const protocol::TensorSet& state, torch::nn::Module* module) {
  try {
    const auto expected = NamedState(*module);
    absl::Status layout = CheckLayout(state, expected);
    if (!layout.ok()) return layout;
    torch::NoGradGuard no_grad;
    for (const auto& [name, value] : expected) {
      // copy_ moves the values onto the tensor's device; the tensor keeps its identity, so
      // an optimizer holding it stays valid.
      torch::Tensor target = value;
      target.copy_(FromWire(*state.Find(name)));
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("ImportState: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("ImportState: ", e.what()));
  }
}

}  // namespace scancov::nn
