// A minimal, strict binary encoding for secagg messages and key-derivation inputs.
//
// Integers are little-endian and fixed width; byte strings and arrays carry a u32 length
// prefix. WireReader checks every length against both a per-field maximum and the bytes left,
// so truncated, oversized or garbage input is refused before anything is allocated, with an
// error naming the message, the field and the offset. Not thread-safe; cheap to create.
#ifndef SCANCOV_PRIVACY_SECAGG_WIRE_H_
#define SCANCOV_PRIVACY_SECAGG_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace scancov::privacy::secagg {

class WireWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  // u32 length, then the bytes.
  void Bytes(absl::string_view bytes);
  void Bytes(absl::Span<const uint8_t> bytes);
  // u32 count, then the elements as u64.
  void U64Array(absl::Span<const uint64_t> values);
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class WireReader {
 public:
  // `what` names the message in errors ("secagg KeyAdvert"). `data` must outlive the reader.
  WireReader(absl::string_view data, absl::string_view what) : data_(data), what_(what) {}

  absl::Status U8(const char* field, uint8_t* out);
  absl::Status U32(const char* field, uint32_t* out);
  absl::Status U64(const char* field, uint64_t* out);
  // A length-prefixed string of at most `max_bytes`.
  absl::Status Bytes(const char* field, size_t max_bytes, std::string* out);
  // A length-prefixed string of exactly out->size() bytes.
  absl::Status Fixed(const char* field, absl::Span<uint8_t> out);
  absl::Status U64Array(const char* field, size_t max_count, std::vector<uint64_t>* out);
  // A u32 element count of at most `max_count`.
  absl::Status Count(const char* field, size_t max_count, uint32_t* out);
  // Succeeds only when every byte was read.
  absl::Status Done() const;

 private:
  absl::Status Need(const char* field, size_t bytes) const;
  absl::Status Error(const char* field, absl::string_view why) const;

  absl::string_view data_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_WIRE_H_
