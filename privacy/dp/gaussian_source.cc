#include "privacy/dp/gaussian_source.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::privacy::dp {
namespace {

// Random bits are drawn from OpenSSL this many 64-bit words at a time.
constexpr size_t kBufferWords = 4096;

}  // namespace

absl::Status SeededGaussianSource::FillStandardNormal(absl::Span<double> out) {
  for (double& x : out) x = random_->Normal();
  return absl::OkStatus();
}

absl::StatusOr<double> CsprngGaussianSource::NextUniform() {
  if (next_ == buffer_.size()) {
    buffer_.resize(kBufferWords);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(buffer_.data()),
                   static_cast<int>(buffer_.size() * sizeof(uint64_t))) != 1) {
      buffer_.clear();
      next_ = 0;
      return absl::UnavailableError(absl::StrCat("dp noise: RAND_bytes failed (",
                                                 ERR_error_string(ERR_get_error(), nullptr), ")"));
    }
    next_ = 0;
  }
  // The top 53 bits, as a multiple of 2^-53 in (0, 1]: never 0, so log() below is finite.
  const uint64_t bits = buffer_[next_++] >> 11;
  return (static_cast<double>(bits) + 1.0) * 0x1.0p-53;
}

absl::Status CsprngGaussianSource::FillStandardNormal(absl::Span<double> out) {
  for (size_t i = 0; i < out.size(); i += 2) {
    SCV_ASSIGN_OR_RETURN(double u1, NextUniform());
    SCV_ASSIGN_OR_RETURN(double u2, NextUniform());
    // Box-Muller: two independent N(0, 1) from two independent uniforms.
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * M_PI * u2;
    out[i] = radius * std::cos(angle);
    if (i + 1 < out.size()) out[i + 1] = radius * std::sin(angle);
  }
  return absl::OkStatus();
}

}  // namespace scancov::privacy::dp
