// The messages of the secure-aggregation protocol, as plain value types with a strict binary
// encoding (wire.h). No transport: the integrator carries the bytes.
//
// Flow for one (study id, round), client = site, server = aggregator:
//   1. client -> server  KeyAdvert        two X25519 public keys, signed with the site's key
//   2. server -> client  AdvertList       the verified adverts of >= t sites
//   3. client -> server  ShareKeysMessage Shamir shares of its secrets, encrypted per recipient
//   4. server -> client  ShareBundle      the encrypted shares addressed to that client
//   5. client -> server  MaskedInput      its fixed-point vector plus masks
//   6. server -> client  UnmaskRequest    who survived and who dropped out
//   7. client -> server  UnmaskResponse   self-mask seed shares of survivors, masking-key shares
//                                         of the dropped
// Parse refuses truncated, oversized, trailing or garbage bytes and a wrong message type with an
// InvalidArgument naming the message and the field. Every serialiser round-trips.
#ifndef SCANCOV_PRIVACY_SECAGG_MESSAGES_H_
#define SCANCOV_PRIVACY_SECAGG_MESSAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/shamir.h"

namespace scancov::privacy::secagg {

struct KeyAdvert {
  std::string study_id;
  uint64_t round = 0;
  std::string site_id;
  Bytes32 c_public{};  // encrypts shares (kShareEncryption)
  Bytes32 s_public{};  // derives pairwise masks (kPairwiseMask)
  std::string signature;

  std::string Serialize() const;
  static absl::StatusOr<KeyAdvert> Parse(absl::string_view bytes);
};

struct AdvertList {
  std::string study_id;
  uint64_t round = 0;
  std::vector<KeyAdvert> adverts;

  std::string Serialize() const;
  static absl::StatusOr<AdvertList> Parse(absl::string_view bytes);
};

struct EncryptedShare {
  std::string sender;
  std::string recipient;
  std::string ciphertext;  // share_cipher.h over a SharePlaintext
};

// Client to server: one EncryptedShare for each neighbour in the advert list.
struct ShareKeysMessage {
  std::string study_id;
  uint64_t round = 0;
  std::string sender;
  std::vector<EncryptedShare> shares;

  std::string Serialize() const;
  static absl::StatusOr<ShareKeysMessage> Parse(absl::string_view bytes);
};

// Server to client: the shares addressed to `recipient` from the sites that shared keys.
struct ShareBundle {
  std::string study_id;
  uint64_t round = 0;
  std::string recipient;
  std::vector<EncryptedShare> shares;

  std::string Serialize() const;
  static absl::StatusOr<ShareBundle> Parse(absl::string_view bytes);
};

// What one EncryptedShare carries, readable only by its recipient.
struct SharePlaintext {
  std::string sender;
  std::string recipient;
  ShamirShare masking_key_share;  // of the sender's s private key
  ShamirShare seed_share;         // of the sender's self-mask seed b

  std::string Serialize() const;
  static absl::StatusOr<SharePlaintext> Parse(absl::string_view bytes);
};

struct MaskedInput {
  std::string study_id;
  uint64_t round = 0;
  std::string site_id;
  std::vector<uint64_t> masked;  // y in Z_2^64

  std::string Serialize() const;
  static absl::StatusOr<MaskedInput> Parse(absl::string_view bytes);
};

// Server to one client; both lists are restricted to the sites whose shares it holds.
struct UnmaskRequest {
  std::string study_id;
  uint64_t round = 0;
  std::string recipient;
  std::vector<std::string> survivors;
  std::vector<std::string> dropped;

  std::string Serialize() const;
  static absl::StatusOr<UnmaskRequest> Parse(absl::string_view bytes);
};

enum class ShareKind : uint8_t { kSelfMaskSeed = 1, kMaskingKey = 2 };

struct RevealedShare {
  std::string owner;  // whose secret
  ShareKind kind = ShareKind::kSelfMaskSeed;
  ShamirShare share;
};

struct UnmaskResponse {
  std::string study_id;
  uint64_t round = 0;
  std::string site_id;
  std::vector<RevealedShare> shares;

  std::string Serialize() const;
  static absl::StatusOr<UnmaskResponse> Parse(absl::string_view bytes);
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_MESSAGES_H_
