// SecAggClient: one site's side of secure aggregation (Bonawitz et al. 2017, with the SecAgg+
// neighbourhoods of Bell et al. 2020) for one study round.
//
//   AdvertiseKeys()            -> KeyAdvert          fresh X25519 pairs c (shares) and s (masks)
//   ShareKeys(AdvertList)      -> ShareKeysMessage   after verifying every advert: a fresh
//                                                    self-mask seed b; Shamir shares of s_sk
//                                                    and b for each listed neighbour,
//                                                    encrypted to it
//   MaskInput(ShareBundle, x)  -> MaskedInput        y = enc(x) + PRG(b) + sum_v +-PRG(s_uv)
//                                                    over the neighbours v that sent shares
//   Unmask(UnmaskRequest)      -> UnmaskResponse     b-shares of survivors, s_sk-shares of the
//                                                    dropped; answered at most once
//
// The client is the party that protects its site: it refuses an advert list with fewer than t
// sites, duplicates, a bad signature or without its own keys; shares that do not authenticate;
// and an unmask request whose survivors and dropped sites are not disjoint, do not cover exactly
// the sites whose shares it holds, number fewer than t survivors or call itself dropped. It
// answers one unmask request per round, so a server cannot obtain both the b-share and the
// s_sk-share of one site (which would unmask that site's vector). Steps run in this order only;
// a refused step leaves the state unchanged, so a corrected message may follow.
//
// Randomness comes from `random` (SecureRandom::System() in production). Not thread-safe: one
// client per site and round, driven by one thread. Secrets live in memory for the round.
#ifndef SCANCOV_PRIVACY_SECAGG_CLIENT_H_
#define SCANCOV_PRIVACY_SECAGG_CLIENT_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/messages.h"
#include "privacy/secagg/secure_random.h"

namespace scancov::privacy::secagg {

class SecAggClient {
 public:
  // `signing_key_pem`: the private key of the site's certificate (EC or RSA). `random` is not
  // owned and must outlive the client.
  static absl::StatusOr<SecAggClient> Create(SecAggConfig config, std::string site_id,
                                             std::string signing_key_pem,
                                             SecureRandom* random = &SecureRandom::System());

  absl::StatusOr<KeyAdvert> AdvertiseKeys();
  absl::StatusOr<ShareKeysMessage> ShareKeys(const AdvertList& adverts);
  absl::StatusOr<MaskedInput> MaskInput(const ShareBundle& bundle, absl::Span<const double> values);
  absl::StatusOr<UnmaskResponse> Unmask(const UnmaskRequest& request);

  const std::string& site_id() const { return me_; }

 private:
  enum class Phase { kNew, kAdvertised, kSharedKeys, kMasked, kUnmasked };

  SecAggClient(SecAggRoster roster, std::string me, std::string key_pem, SecureRandom* random)
      : roster_(std::move(roster)),
        me_(std::move(me)),
        key_pem_(std::move(key_pem)),
        random_(random) {}

  absl::Status CheckPhase(Phase expected, const char* step) const;
  absl::StatusOr<std::map<std::string, KeyAdvert>> VerifyAdvertList(const AdvertList& list) const;
  absl::StatusOr<std::vector<EncryptedShare>> EncryptShares(
      const std::map<std::string, KeyAdvert>& recipients, const Bytes32& seed, SharePlaintext* own);
  absl::StatusOr<std::map<std::string, SharePlaintext>> DecryptBundle(
      const ShareBundle& bundle) const;
  absl::Status AddMasks(const std::map<std::string, SharePlaintext>& held,
                        absl::Span<uint64_t> y) const;
  absl::Status CheckUnmaskSets(const UnmaskRequest& request) const;

  SecAggRoster roster_;
  std::string me_;
  std::string key_pem_;
  SecureRandom* random_;
  Phase phase_ = Phase::kNew;
  std::optional<X25519KeyPair> c_keys_;
  std::optional<X25519KeyPair> s_keys_;
  Bytes32 self_seed_{};
  std::map<std::string, KeyAdvert> neighbours_;  // verified adverts of listed neighbours
  std::map<std::string, SharePlaintext> held_;   // shares held, by owner (itself included)
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_CLIENT_H_
