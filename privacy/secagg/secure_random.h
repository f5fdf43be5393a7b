// The source of secret randomness for secure aggregation: key pairs, self-mask seeds, Shamir
// coefficients and AEAD nonces all come from a SecureRandom.
//
// Production code uses SecureRandom::System() (OpenSSL's CSPRNG). core/env.h's Random is a
// Mersenne Twister and must never be used for secrets. DeterministicRandom exists so that
// tests are reproducible (the same seed gives the same keys and masks); using it outside a test
// makes every secret predictable.
#ifndef SCANCOV_PRIVACY_SECAGG_SECURE_RANDOM_H_
#define SCANCOV_PRIVACY_SECAGG_SECURE_RANDOM_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace scancov::privacy::secagg {

// Fills buffers with random bytes. Implementations need not be thread-safe.
class SecureRandom {
 public:
  virtual ~SecureRandom() = default;
  virtual absl::Status Fill(absl::Span<uint8_t> out) = 0;

  // OpenSSL RAND_bytes. Thread-safe; never destroyed.
  static SecureRandom& System();
};

// A ChaCha20 keystream keyed by `seed`: reproducible, for tests only. Not thread-safe.
class DeterministicRandom : public SecureRandom {
 public:
  explicit DeterministicRandom(uint64_t seed);
  ~DeterministicRandom() override;
  absl::Status Fill(absl::Span<uint8_t> out) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_SECURE_RANDOM_H_
