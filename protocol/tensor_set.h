// TensorSet: the plain named-tensor set in which model weights cross the wire and are stored.
//
// This is the only form of weights the aggregator sees; it never links LibTorch. `models/nn`
// converts a LibTorch module's parameters *and buffers* to and from it.
//
// Invariants (checked by Add): names are unique and non-empty; shape dimensions are >= 0;
// bytes.size() == NumElements(shape) * DTypeSize(dtype). Bytes are little-endian, row-major.
// Tensors keep their insertion order, which is the order of the wire payload.
// A TensorSet is a value type: copyable, movable, not synchronised.
#ifndef SCANCOV_PROTOCOL_TENSOR_SET_H_
#define SCANCOV_PROTOCOL_TENSOR_SET_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace scancov::protocol {

enum class DType { kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32, kUInt8, kBool };

size_t DTypeSize(DType dtype);
absl::string_view DTypeName(DType dtype);
bool IsFloating(DType dtype);
absl::StatusOr<DType> ParseDTypeName(absl::string_view name);

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
  std::string bytes;

  int64_t NumElements() const;
};

// Product of dimensions; -1 if a dimension is negative or the product overflows.
int64_t NumElements(const std::vector<int64_t>& shape);
std::string ShapeString(const std::vector<int64_t>& shape);

class TensorSet {
 public:
  // Adds a tensor, or says which invariant it breaks.
  absl::Status Add(Tensor tensor);
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* Find(absl::string_view name) const;
  size_t size() const { return tensors_.size(); }
  bool empty() const { return tensors_.empty(); }
  uint64_t TotalBytes() const;

  // Same names in the same order, same shapes, same dtypes (values may differ).
  absl::Status CheckSameLayout(const TensorSet& other) const;

 private:
  std::vector<Tensor> tensors_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// Element values widened to double (booleans as 0/1). Used for averaging and finiteness checks.
std::vector<double> ToDoubles(const Tensor& tensor);
// Narrows values to `dtype` (integers rounded to nearest, floats rounded to nearest even).
Tensor FromDoubles(std::string name, std::vector<int64_t> shape, DType dtype,
                   const std::vector<double>& values);
// OK if every element of every floating tensor is finite; else names the first bad tensor.
absl::Status CheckAllFinite(const TensorSet& set);

// Convenience for tests and small models: a float32 tensor from values.
Tensor MakeFloat32(std::string name, std::vector<int64_t> shape, const std::vector<float>& values);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_TENSOR_SET_H_
