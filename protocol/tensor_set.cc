#include "protocol/tensor_set.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::protocol {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "TensorSet bytes are little-endian; big-endian hosts need byte swapping");

uint16_t FloatToHalf(float value) {
  uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  const uint32_t sign = (f >> 16) & 0x8000u;
  int32_t exponent = static_cast<int32_t>((f >> 23) & 0xFF) - 127 + 15;
  uint32_t mantissa = f & 0x7FFFFFu;
  if (((f >> 23) & 0xFF) == 0xFF) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7C00u | (mantissa ? 0x200u : 0u));
  }
  if (exponent >= 31) return static_cast<uint16_t>(sign | 0x7C00u);  // overflow to inf
  if (exponent <= 0) {                                                // subnormal or zero
    if (exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    const uint32_t rem = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  const uint32_t rem = mantissa & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into exponent: ok
  return static_cast<uint16_t>(half);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t f;
  if (exponent == 0) {
    if (mantissa == 0) {
      f = sign;
    } else {  // subnormal: normalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3FFu;
      f = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1F) {
    f = sign | 0x7F800000u | (mantissa << 13);
  } else {
    f = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &f, sizeof out);
  return out;
}

uint16_t FloatToBFloat16(float value) {
  uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  if (std::isnan(value)) return static_cast<uint16_t>((f >> 16) | 0x40u);
  const uint32_t rounding = 0x7FFFu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

float BFloat16ToFloat(uint16_t b) {
  const uint32_t f = static_cast<uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &f, sizeof out);
  return out;
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kFloat16: return 2;
    case DType::kBFloat16: return 2;
    case DType::kInt64: return 8;
    case DType::kInt32: return 4;
    case DType::kUInt8: return 1;
    case DType::kBool: return 1;
  }
  return 0;
}

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt64: return "int64";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

bool IsFloating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64 || dtype == DType::kFloat16 ||
         dtype == DType::kBFloat16;
}

absl::StatusOr<DType> ParseDTypeName(absl::string_view name) {
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16,
                  DType::kInt64, DType::kInt32, DType::kUInt8, DType::kBool}) {
    if (DTypeName(d) == name) return d;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype '", name, "'"));
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

int64_t Tensor::NumElements() const { return protocol::NumElements(shape); }

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status TensorSet::Add(Tensor tensor) {
  if (tensor.name.empty()) return absl::InvalidArgumentError("tensor with an empty name");
  if (index_.contains(tensor.name)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.name, "': duplicate name"));
  }
  const int64_t n = tensor.NumElements();
  if (n < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': invalid shape ", ShapeString(tensor.shape)));
  }
  const uint64_t expected = static_cast<uint64_t>(n) * DTypeSize(tensor.dtype);
  if (tensor.bytes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", tensor.name, "': ", tensor.bytes.size(), " bytes for shape ",
        ShapeString(tensor.shape), " of ", DTypeName(tensor.dtype), " (expected ", expected, ")"));
  }
  index_.emplace(tensor.name, tensors_.size());
  tensors_.push_back(std::move(tensor));
  return absl::OkStatus();
}

const Tensor* TensorSet::Find(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

uint64_t TensorSet::TotalBytes() const {
  uint64_t total = 0;
  for (const Tensor& t : tensors_) total += t.bytes.size();
  return total;
}

absl::Status TensorSet::CheckSameLayout(const TensorSet& other) const {
  if (other.size() != size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", size(), " tensors, got ", other.size()));
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& a = tensors_[i];
    const Tensor& b = other.tensors_[i];
    if (a.name != b.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor #", i, ": expected name '", a.name, "', got '", b.name, "'"));
    }
    if (a.shape != b.shape) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", a.name, "': expected shape ",
                                                     ShapeString(a.shape), ", got ",
                                                     ShapeString(b.shape)));
    }
    if (a.dtype != b.dtype) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", a.name, "': expected dtype ",
                                                     DTypeName(a.dtype), ", got ",
                                                     DTypeName(b.dtype)));
    }
  }
  return absl::OkStatus();
}

std::vector<double> ToDoubles(const Tensor& tensor) {
  const size_t n = tensor.bytes.size() / DTypeSize(tensor.dtype);
  std::vector<double> out(n);
  const char* p = tensor.bytes.data();
  const size_t w = DTypeSize(tensor.dtype);
  for (size_t i = 0; i < n; ++i, p += w) {
    switch (tensor.dtype) {
      case DType::kFloat32: out[i] = Load<float>(p); break;
      case DType::kFloat64: out[i] = Load<double>(p); break;
      case DType::kFloat16: out[i] = HalfToFloat(Load<uint16_t>(p)); break;
      case DType::kBFloat16: out[i] = BFloat16ToFloat(Load<uint16_t>(p)); break;
      case DType::kInt64: out[i] = static_cast<double>(Load<int64_t>(p)); break;
      case DType::kInt32: out[i] = Load<int32_t>(p); break;
      case DType::kUInt8: out[i] = Load<uint8_t>(p); break;
      case DType::kBool: out[i] = Load<uint8_t>(p) ? 1.0 : 0.0; break;
    }
  }
  return out;
}

Tensor FromDoubles(std::string name, std::vector<int64_t> shape, DType dtype,
                   const std::vector<double>& values) {
  Tensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = dtype;
  const size_t w = DTypeSize(dtype);
  t.bytes.resize(values.size() * w);
  char* p = t.bytes.data();
  for (double v : values) {
    switch (dtype) {
      case DType::kFloat32: Store<float>(p, static_cast<float>(v)); break;
      case DType::kFloat64: Store<double>(p, v); break;
      case DType::kFloat16: Store<uint16_t>(p, FloatToHalf(static_cast<float>(v))); break;
      case DType::kBFloat16: Store<uint16_t>(p, FloatToBFloat16(static_cast<float>(v))); break;
      case DType::kInt64: Store<int64_t>(p, static_cast<int64_t>(std::llround(v))); break;
      case DType::kInt32: Store<int32_t>(p, static_cast<int32_t>(std::lround(v))); break;
      case DType::kUInt8: Store<uint8_t>(p, static_cast<uint8_t>(std::lround(v))); break;
      case DType::kBool: Store<uint8_t>(p, v >= 0.5 ? 1 : 0); break;
    }
    p += w;
  }
  return t;
}

absl::Status CheckAllFinite(const TensorSet& set) {
  for (const Tensor& t : set.tensors()) {
    if (!IsFloating(t.dtype)) continue;
    const std::vector<double> values = ToDoubles(t);
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "': element ", i,
                                                       " is not finite (", values[i], ")"));
      }
    }
  }
  return absl::OkStatus();
}

Tensor MakeFloat32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values) {
  Tensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = DType::kFloat32;
  t.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

}  // namespace scancov::protocol
