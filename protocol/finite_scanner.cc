#include "protocol/finite_scanner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocol/weights_codec.h"

namespace scancov::protocol {
namespace {

// Little-endian bits of one element; non-finite = every exponent bit set.
uint64_t Bits(const char* p, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << 8 * i;
  return v;
}

bool Finite(DType dtype, const char* p) {
  switch (dtype) {
    case DType::kFloat16:
      return (Bits(p, 2) & 0x7C00u) != 0x7C00u;
    case DType::kBFloat16:
      return (Bits(p, 2) & 0x7F80u) != 0x7F80u;
    case DType::kFloat32:
      return (Bits(p, 4) & 0x7F800000u) != 0x7F800000u;
    case DType::kFloat64:
      return (Bits(p, 8) & 0x7FF0000000000000ull) != 0x7FF0000000000000ull;
    default:
      return true;
  }
}

}  // namespace

FiniteScanner::FiniteScanner(const v1::WeightsManifest& manifest) {
  for (const v1::TensorSpec& s : manifest.tensors()) {
    absl::StatusOr<DType> dtype = FromProto(s.dtype());
    ranges_.push_back({s.name(), s.offset() + s.nbytes(), dtype.ok() ? *dtype : DType::kUInt8});
  }
}

void FiniteScanner::Feed(absl::string_view bytes) {
  while (!bytes.empty()) {
    while (current_ < ranges_.size() && position_ >= ranges_[current_].end) {
      ++current_;
      carry_.clear();
    }
    if (current_ == ranges_.size()) {  // past the manifest: not ours to judge (sizes are)
      position_ += bytes.size();
      return;
    }
    const Range& range = ranges_[current_];
    const size_t take =
        static_cast<size_t>(std::min<uint64_t>(bytes.size(), range.end - position_));
    if (bad_ < 0 && IsFloating(range.dtype)) Scan(range, bytes.substr(0, take));
    position_ += take;
    bytes.remove_prefix(take);
  }
}

void FiniteScanner::Scan(const Range& range, absl::string_view bytes) {
  const size_t size = DTypeSize(range.dtype);
  if (!carry_.empty()) {
    const size_t need = std::min(size - carry_.size(), bytes.size());
    carry_.append(bytes.data(), need);
    bytes.remove_prefix(need);
    if (carry_.size() < size) return;
    if (!Finite(range.dtype, carry_.data())) bad_ = static_cast<int>(current_);
    carry_.clear();
  }
  const size_t whole = bytes.size() / size * size;
  for (size_t i = 0; i < whole && bad_ < 0; i += size) {
    if (!Finite(range.dtype, bytes.data() + i)) bad_ = static_cast<int>(current_);
  }
  carry_.assign(bytes.data() + whole, bytes.size() - whole);
}

absl::Status FiniteScanner::status() const {
  if (bad_ < 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("weights: tensor '", ranges_[bad_].name, "' has a non-finite value"));
}

}  // namespace scancov::protocol
