// Shamir t-of-n secret sharing of 32-byte secrets (seeds and X25519 private keys).
//
// Field: GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, applied byte-wise: each byte
// of the secret is the constant term of its own random polynomial of degree t-1, and a share
// is the 32 evaluations at the share's index x in 1..255. Why this field rather than a large
// prime: a share is exactly as long as the secret (33 bytes with its index), there is no
// big-number arithmetic, and multiplication is written without tables or secret-dependent
// branches (no cache-timing leak). Its one limit, at most 255 shares, is far above the number
// of hospitals in a study. Secrecy is the usual information-theoretic one: for any t-1 shares
// every secret is equally likely (each byte polynomial is uniform given t-1 points).
//
// Reconstruction is Lagrange interpolation at 0 from the first `threshold` shares; by itself it
// cannot detect a wrong share. With more than `threshold` shares, ShamirCheckConsistent can:
// every extra share must lie on the polynomial through the first `threshold`.
// Stateless functions; thread-safe given a thread-safe SecureRandom.
#ifndef SCANCOV_PRIVACY_SECAGG_SHAMIR_H_
#define SCANCOV_PRIVACY_SECAGG_SHAMIR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/secure_random.h"

namespace scancov::privacy::secagg {

struct ShamirShare {
  uint8_t index = 0;  // the evaluation point, 1..255
  Bytes32 value{};
};

// One share per entry of `indices` (distinct, non-zero). Needs 2 <= threshold <= indices.size().
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Bytes32& secret, int threshold,
                                                     absl::Span<const uint8_t> indices,
                                                     SecureRandom& random);

// The secret from at least `threshold` shares with distinct non-zero indices.
absl::StatusOr<Bytes32> ShamirReconstruct(absl::Span<const ShamirShare> shares, int threshold);

// OK when all `shares` (at least `threshold`, distinct non-zero indices) lie on one polynomial
// of degree < threshold; DataLoss naming the first share that disagrees with the first
// `threshold` (which may hold the wrong one).
absl::Status ShamirCheckConsistent(absl::Span<const ShamirShare> shares, int threshold);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_SHAMIR_H_
