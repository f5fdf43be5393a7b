// Fixed-point encoding of real vectors into the ring Z_2^64, where secure aggregation sums.
//
// A value x is encoded as q = round(x * 2^f) (f = fractional_bits), stored as the two's
// complement uint64 of q. Sums of encodings are computed mod 2^64 and decoded by reading the
// ring sum as int64 and dividing by 2^f.
//
// Resolution: the grid step is 2^-f. Each encoded value is within 2^-(f+1) of its true value
// (so within 2^-f, the bound tests use); the decoded sum of n values is within n * 2^-(f+1)
// (<= n * 2^-f) of the true sum. Decoding to double is exact while |sum| * 2^f < 2^53; beyond
// that the double's own rounding (relative 2^-53) adds to the error.
//
// No overflow: a study declares max |value| (max_abs_value) and the most summands
// (max_summands). Create refuses parameters for which max_summands values of magnitude
// max_abs_value could reach 2^63 (the int64 range of the decoded sum), and Encode refuses any
// value outside [-max_abs_value, max_abs_value] or not finite, naming the element's index (never
// its value: it may be patient data). Within those bounds the ring sum never wraps, so the
// decoded sum is exactly the sum of the encodings.
//
// Immutable after Create; thread-safe.
#ifndef SCANCOV_PRIVACY_SECAGG_FIXED_POINT_H_
#define SCANCOV_PRIVACY_SECAGG_FIXED_POINT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::privacy::secagg {

struct FixedPointParams {
  int fractional_bits = 24;     // f, in [0, 62]
  double max_abs_value = 1e3;   // the declared range of every value
  int64_t max_summands = 1000;  // the most vectors ever summed (sites)
};

class FixedPointCodec {
 public:
  static absl::StatusOr<FixedPointCodec> Create(const FixedPointParams& params);

  // The encodings of `values` (same length).
  absl::StatusOr<std::vector<uint64_t>> Encode(absl::Span<const double> values) const;
  // Encodes `values` into `out` (same length).
  absl::Status EncodeInto(absl::Span<const double> values, absl::Span<uint64_t> out) const;
  // The real values of a ring vector (a sum of at most max_summands encodings).
  std::vector<double> Decode(absl::Span<const uint64_t> ring) const;

  // 2^-f, the grid step.
  double resolution() const;
  const FixedPointParams& params() const { return params_; }

 private:
  explicit FixedPointCodec(const FixedPointParams& params) : params_(params) {}
  FixedPointParams params_;
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_FIXED_POINT_H_
