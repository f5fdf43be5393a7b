#include "privacy/secagg/wire.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace scancov::privacy::secagg {
namespace {

// Vectors of millions of elements cross the wire: on little-endian hosts (all we build for) they
// are copied whole; elsewhere each element is swapped.
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

uint64_t SwapIfBigEndian(uint64_t v) { return kLittleEndian ? v : __builtin_bswap64(v); }

uint64_t LoadLe(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return v;
}

}  // namespace

void WireWriter::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
}

void WireWriter::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
}

void WireWriter::Bytes(absl::string_view bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  out_.append(bytes.data(), bytes.size());
}

void WireWriter::Bytes(absl::Span<const uint8_t> bytes) {
  Bytes(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void WireWriter::U64Array(absl::Span<const uint64_t> values) {
  U32(static_cast<uint32_t>(values.size()));
  const size_t start = out_.size();
  out_.resize(start + 8 * values.size());
  char* p = out_.data() + start;
  if (kLittleEndian) {
    if (!values.empty()) std::memcpy(p, values.data(), 8 * values.size());
    return;
  }
  for (uint64_t v : values) {
    const uint64_t le = SwapIfBigEndian(v);
    std::memcpy(p, &le, 8);
    p += 8;
  }
}

absl::Status WireReader::Error(const char* field, absl::string_view why) const {
  return absl::InvalidArgumentError(
      absl::StrCat(what_, ": field '", field, "' at byte ", pos_, ": ", why));
}

absl::Status WireReader::Need(const char* field, size_t bytes) const {
  if (data_.size() - pos_ < bytes) {
    return Error(
        field, absl::StrCat("truncated (need ", bytes, " bytes, ", data_.size() - pos_, " left)"));
  }
  return absl::OkStatus();
}

absl::Status WireReader::U8(const char* field, uint8_t* out) {
  if (absl::Status s = Need(field, 1); !s.ok()) return s;
  *out = static_cast<uint8_t>(data_[pos_++]);
  return absl::OkStatus();
}

absl::Status WireReader::U32(const char* field, uint32_t* out) {
  if (absl::Status s = Need(field, 4); !s.ok()) return s;
  *out = static_cast<uint32_t>(LoadLe(data_.substr(pos_, 4)));
  pos_ += 4;
  return absl::OkStatus();
}

absl::Status WireReader::U64(const char* field, uint64_t* out) {
  if (absl::Status s = Need(field, 8); !s.ok()) return s;
  *out = LoadLe(data_.substr(pos_, 8));
  pos_ += 8;
  return absl::OkStatus();
}

absl::Status WireReader::Count(const char* field, size_t max_count, uint32_t* out) {
  if (absl::Status s = U32(field, out); !s.ok()) return s;
  if (*out > max_count) {
    pos_ -= 4;
    return Error(field, absl::StrCat("length ", *out, " exceeds the maximum ", max_count));
  }
  return absl::OkStatus();
}

absl::Status WireReader::Bytes(const char* field, size_t max_bytes, std::string* out) {
  uint32_t size = 0;
  if (absl::Status s = Count(field, max_bytes, &size); !s.ok()) return s;
  if (absl::Status s = Need(field, size); !s.ok()) return s;
  out->assign(data_.data() + pos_, size);
  pos_ += size;
  return absl::OkStatus();
}

absl::Status WireReader::Fixed(const char* field, absl::Span<uint8_t> out) {
  uint32_t size = 0;
  if (absl::Status s = U32(field, &size); !s.ok()) return s;
  if (size != out.size()) {
    pos_ -= 4;
    return Error(field, absl::StrCat("length ", size, ", expected ", out.size()));
  }
  if (absl::Status s = Need(field, size); !s.ok()) return s;
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += size;
  return absl::OkStatus();
}

absl::Status WireReader::U64Array(const char* field, size_t max_count, std::vector<uint64_t>* out) {
  uint32_t count = 0;
  if (absl::Status s = Count(field, max_count, &count); !s.ok()) return s;
  if (absl::Status s = Need(field, 8 * static_cast<size_t>(count)); !s.ok()) return s;
  out->resize(count);
  if (count > 0) std::memcpy(out->data(), data_.data() + pos_, 8 * static_cast<size_t>(count));
  if (!kLittleEndian) {
    for (uint64_t& v : *out) v = SwapIfBigEndian(v);
  }
  pos_ += 8 * static_cast<size_t>(count);
  return absl::OkStatus();
}

absl::Status WireReader::Done() const {
  if (pos_ != data_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what_, ": ", data_.size() - pos_, " unexpected bytes after byte ", pos_));
  }
  return absl::OkStatus();
}

}  // namespace scancov::privacy::secagg
