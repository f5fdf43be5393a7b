// The pseudo-random generator that expands a 32-byte seed into a mask over Z_2^64.
//
// PRG(seed) is the ChaCha20 keystream (RFC 8439 block function via OpenSSL EVP_chacha20) under
// key = seed, counter 0 and an all-zero nonce, read as consecutive little-endian uint64 values.
// The nonce is fixed because every seed is a fresh key used for exactly one stream: self-mask
// seeds are drawn fresh every round and pairwise seeds come out of HKDF with the study and round
// in the info (key_agreement.h). The stream is generated in blocks and added in place, so
// masking a vector costs one pass per seed and no allocation proportional to its length.
//
// Stateless functions; thread-safe.
#ifndef SCANCOV_PRIVACY_SECAGG_MASK_GENERATOR_H_
#define SCANCOV_PRIVACY_SECAGG_MASK_GENERATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "privacy/secagg/key_agreement.h"

namespace scancov::privacy::secagg {

enum class MaskSign { kAdd, kSubtract };

// acc[i] = acc[i] +/- PRG(seed)[i] (mod 2^64) for every i.
absl::Status ApplyMask(const Bytes32& seed, MaskSign sign, absl::Span<uint64_t> acc);

// The first `length` elements of PRG(seed).
absl::StatusOr<std::vector<uint64_t>> ExpandMask(const Bytes32& seed, size_t length);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_MASK_GENERATOR_H_
