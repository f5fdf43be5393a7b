// GaussianSource: where the noise of differential privacy comes from. Noise is injected, like the
// clock (core/env.h): tests use a seeded source so that the same seed gives the same noised
// weights; production uses a cryptographically secure one, so that nobody who sees the released
// weights (or an earlier release, or the seed of the training run) can predict and subtract it.
//
// Limitation: samples are double-precision floating-point Gaussians. Floating-point noise
// leaves gaps in the low bits that can in theory leak (Mironov 2012 for the Laplace mechanism);
// the noise here is also rounded to the tensor's dtype afterwards, which helps but proves
// nothing. A discrete Gaussian (Canonne, Kamath, Steinke 2020) would close it.
//
// Thread safety: a source is not synchronised; give each thread its own.
#ifndef SCANCOV_PRIVACY_DP_GAUSSIAN_SOURCE_H_
#define SCANCOV_PRIVACY_DP_GAUSSIAN_SOURCE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/env.h"

namespace scancov::privacy::dp {

class GaussianSource {
 public:
  virtual ~GaussianSource() = default;
  // Fills `out` with independent standard normal samples; an error if randomness failed (then
  // `out` must not be used).
  virtual absl::Status FillStandardNormal(absl::Span<double> out) = 0;
};

// The test seam: samples from a scancov::Random (not owned; must outlive this source).
class SeededGaussianSource : public GaussianSource {
 public:
  explicit SeededGaussianSource(Random* random) : random_(random) {}
  absl::Status FillStandardNormal(absl::Span<double> out) override;

 private:
  Random* random_;
};

// Production: uniform bits from OpenSSL's CSPRNG (RAND_bytes, a DRBG seeded by the operating
// system), turned into normals by the Box-Muller transform on 53-bit uniforms (which bounds a
// sample by 8.6 in absolute value: the tail cut off has probability ~1e-17 per sample).
class CsprngGaussianSource : public GaussianSource {
 public:
  CsprngGaussianSource() = default;
  absl::Status FillStandardNormal(absl::Span<double> out) override;

 private:
  // Next uniform in (0, 1] from the buffered random bits.
  absl::StatusOr<double> NextUniform();
  std::vector<uint64_t> buffer_;
  size_t next_ = 0;
};

}  // namespace scancov::privacy::dp

#endif  // SCANCOV_PRIVACY_DP_GAUSSIAN_SOURCE_H_
