#include "privacy/secagg/fixed_point.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace scancov::privacy::secagg {

absl::StatusOr<FixedPointCodec> FixedPointCodec::Create(const FixedPointParams& params) {
  const int f = params.fractional_bits;
  if (f < 0 || f > 62) {
    return absl::InvalidArgumentError(
        absl::StrCat("fixed point: fractional_bits ", f, " is outside [0, 62]"));
  }
  if (!std::isfinite(params.max_abs_value) || params.max_abs_value <= 0) {
    return absl::InvalidArgumentError("fixed point: max_abs_value must be finite and positive");
  }
  if (params.max_summands < 1) {
    return absl::InvalidArgumentError("fixed point: max_summands must be at least 1");
  }
  // Bound the magnitude of one encoding by an integer B, then require n * B < 2^63 in integer
  // arithmetic (a double product could round across the limit).
  const double scaled = std::ldexp(params.max_abs_value, f);  // exact: a power-of-two scale
  constexpr uint64_t kLimit = std::numeric_limits<int64_t>::max();
  if (scaled >= 0x1p62) {
    return absl::InvalidArgumentError(absl::StrCat("fixed point: max_abs_value * 2^", f,
                                                   " does not fit 62 bits; lower fractional_bits"));
  }
  const uint64_t per_value = static_cast<uint64_t>(std::ceil(scaled));
  if (per_value > kLimit / static_cast<uint64_t>(params.max_summands)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fixed point: ", params.max_summands, " summands of magnitude up to ", params.max_abs_value,
        " at 2^-", f, " resolution could overflow 2^63; lower fractional_bits or the range"));
  }
  return FixedPointCodec(params);
}

absl::Status FixedPointCodec::EncodeInto(absl::Span<const double> values,
                                         absl::Span<uint64_t> out) const {
  if (values.size() != out.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("fixed point encode: ", values.size(), " values for ", out.size(), " slots"));
  }
  const double max = params_.max_abs_value;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) {
      return absl::InvalidArgumentError(
          absl::StrCat("fixed point encode: element ", i, " is not finite"));
    }
    if (std::fabs(x) > max) {
      return absl::InvalidArgumentError(absl::StrCat("fixed point encode: element ", i,
                                                     " is outside the declared range +-", max));
    }
    // |x| * 2^f < 2^62 (checked in Create), so llround cannot overflow.
    out[i] = static_cast<uint64_t>(std::llround(std::ldexp(x, params_.fractional_bits)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> FixedPointCodec::Encode(
    absl::Span<const double> values) const {
  std::vector<uint64_t> out(values.size());
  absl::Status s = EncodeInto(values, absl::MakeSpan(out));
  if (!s.ok()) return s;
  return out;
}

std::vector<double> FixedPointCodec::Decode(absl::Span<const uint64_t> ring) const {
  std::vector<double> out(ring.size());
  for (size_t i = 0; i < ring.size(); ++i) {
    out[i] =
        std::ldexp(static_cast<double>(static_cast<int64_t>(ring[i])), -params_.fractional_bits);
  }
  return out;
}

double FixedPointCodec::resolution() const { return std::ldexp(1.0, -params_.fractional_bits); }

}  // namespace scancov::privacy::secagg
