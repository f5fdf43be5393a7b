// X25519 key pairs and key agreement, with the shared secret run through HKDF-SHA256.
//
// The raw X25519 output is never used as a key: AgreeAndDerive feeds it to HKDF-SHA256 with an
// `info` string that binds what the key is for, the study, the round and the two sites
// (KdfInfo), so a key derived for one purpose, study, round or pair is useless for any other.
#ifndef SCANCOV_PRIVACY_SECAGG_KEY_AGREEMENT_H_
#define SCANCOV_PRIVACY_SECAGG_KEY_AGREEMENT_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/secure_random.h"

namespace scancov::privacy::secagg {

using Bytes32 = std::array<uint8_t, 32>;

// What a derived key is for; part of the HKDF info.
enum class KeyPurpose { kShareEncryption, kPairwiseMask };

// An X25519 key pair held as raw bytes (RFC 7748). A value type; copying copies the private
// key, so keep copies to a minimum. Not thread-safe to mutate; const use is.
class X25519KeyPair {
 public:
  // A fresh key pair from 32 bytes of `random`.
  static absl::StatusOr<X25519KeyPair> Generate(SecureRandom& random);
  // The key pair of a known private key (e.g. one rebuilt from Shamir shares).
  static absl::StatusOr<X25519KeyPair> FromPrivateKey(const Bytes32& private_key);

  const Bytes32& public_key() const { return public_key_; }
  const Bytes32& private_key() const { return private_key_; }

 private:
  X25519KeyPair(const Bytes32& private_key, const Bytes32& public_key)
      : private_key_(private_key), public_key_(public_key) {}
  Bytes32 private_key_;
  Bytes32 public_key_;
};

// The HKDF info for a key between sites `a` and `b` (order-insensitive: both ends derive the
// same info) in one study and round. Fields are length-prefixed, so no two distinct inputs
// give the same string.
std::string KdfInfo(KeyPurpose purpose, absl::string_view study_id, uint64_t round,
                    absl::string_view a, absl::string_view b);

// HKDF-SHA256(X25519(my_private, peer_public), salt = "scancov-secagg-v1", info), 32 bytes.
// Refuses a peer key that gives the all-zero shared secret (a small-order point).
absl::StatusOr<Bytes32> AgreeAndDerive(const Bytes32& my_private, const Bytes32& peer_public,
                                       absl::string_view info);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_KEY_AGREEMENT_H_
