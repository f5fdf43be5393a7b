// Authenticated encryption of Shamir shares from one site to another, through the server.
//
// AES-256-GCM with a key from X25519 agreement between the two sites' "c" keys (key_agreement.h,
// KeyPurpose::kShareEncryption), a random 96-bit nonce per message and associated data
// ShareAad = (study id, round, sender, recipient). The server routes the ciphertext but cannot
// read it; a ciphertext replayed into another study or round, or delivered to another recipient,
// or claimed to be from another sender, fails authentication. Random nonces are safe: a key
// encrypts one message per (study, round, direction).
//
// Ciphertext layout: nonce (12) || encrypted bytes || tag (16). Stateless; thread-safe given a
// thread-safe SecureRandom.
#ifndef SCANCOV_PRIVACY_SECAGG_SHARE_CIPHER_H_
#define SCANCOV_PRIVACY_SECAGG_SHARE_CIPHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/secure_random.h"

namespace scancov::privacy::secagg {

struct ShareAad {
  std::string study_id;
  uint64_t round = 0;
  std::string sender;
  std::string recipient;

  // The canonical, length-prefixed bytes authenticated with the ciphertext.
  std::string Bytes() const;
};

inline constexpr size_t kShareCipherOverhead = 12 + 16;

absl::StatusOr<std::string> SealShare(const Bytes32& key, const ShareAad& aad,
                                      absl::string_view plaintext, SecureRandom& random);

// The plaintext, or PermissionDenied when the key, the associated data or the bytes do not
// authenticate.
absl::StatusOr<std::string> OpenShare(const Bytes32& key, const ShareAad& aad,
                                      absl::string_view ciphertext);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_SHARE_CIPHER_H_
