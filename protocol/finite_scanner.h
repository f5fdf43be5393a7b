// FiniteScanner: checks a weights payload for NaN and infinities while it streams past, in
// payload order, holding one element at most (a value may straddle two chunks).
//
// Used where a payload is never whole in memory (aggregator/server/upload_spool.h): the same
// rule as CheckAllFinite (protocol/tensor_set.h) for every floating tensor (float16, bfloat16,
// float32, float64) of the manifest; integer and boolean tensors are not inspected.
// Not thread-safe; copyable.
#ifndef SCANCOV_PROTOCOL_FINITE_SCANNER_H_
#define SCANCOV_PROTOCOL_FINITE_SCANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::protocol {

class FiniteScanner {
 public:
  // `manifest` must have passed CheckManifest (weights_codec.h); its layout is copied.
  explicit FiniteScanner(const v1::WeightsManifest& manifest);

  // The next bytes of the payload (from position() on).
  void Feed(absl::string_view bytes);
  uint64_t position() const { return position_; }
  // OK, or InvalidArgument naming the first tensor holding a non-finite value (never a value).
  absl::Status status() const;

 private:
  struct Range {
    std::string name;
    uint64_t end = 0;  // one past its last payload byte
    DType dtype = DType::kUInt8;
  };
  void Scan(const Range& range, absl::string_view bytes);

  std::vector<Range> ranges_;
  size_t current_ = 0;
  uint64_t position_ = 0;
  std::string carry_;  // the first bytes of an element cut by a chunk boundary
  int bad_ = -1;       // index of the first tensor with a non-finite value
};

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_FINITE_SCANNER_H_
