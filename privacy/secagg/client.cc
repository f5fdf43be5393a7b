#include "privacy/secagg/client.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/key_signature.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/pairwise_mask.h"
#include "privacy/secagg/session_checks.h"
#include "privacy/secagg/shamir.h"
#include "privacy/secagg/share_cipher.h"

namespace scancov::privacy::secagg {
namespace {

const char* PhaseName(int phase) {
  static const char* const kNames[] = {"new", "keys advertised", "keys shared", "input masked",
                                       "unmask answered"};
  return kNames[phase];
}

}  // namespace

absl::StatusOr<SecAggClient> SecAggClient::Create(SecAggConfig config, std::string site_id,
                                                  std::string signing_key_pem,
                                                  SecureRandom* random) {
  SCV_ASSIGN_OR_RETURN(SecAggRoster roster, SecAggRoster::Create(std::move(config)));
  SCV_RETURN_IF_ERROR(CheckKnownSite(roster, "secagg client", site_id));
  return SecAggClient(std::move(roster), std::move(site_id), std::move(signing_key_pem), random);
}

absl::Status SecAggClient::CheckPhase(Phase expected, const char* step) const {
  if (phase_ == expected) return absl::OkStatus();
  if (phase_ == Phase::kUnmasked && expected == Phase::kMasked) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secagg client '", me_, "': ", step,
        ": an unmask request was already answered this round; a second one is refused (it "
        "could reveal both shares of one site)"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("secagg client '", me_, "': ", step,
                   " is out of order (phase: ", PhaseName(static_cast<int>(phase_)), ")"));
}

absl::StatusOr<KeyAdvert> SecAggClient::AdvertiseKeys() {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kNew, "AdvertiseKeys"));
  SCV_ASSIGN_OR_RETURN(X25519KeyPair c, X25519KeyPair::Generate(*random_));
  SCV_ASSIGN_OR_RETURN(X25519KeyPair s, X25519KeyPair::Generate(*random_));
  const SecAggConfig& config = roster_.config();
  KeyAdvert advert{config.study_id, config.round, me_, c.public_key(), s.public_key(), ""};
  SCV_ASSIGN_OR_RETURN(advert.signature,
                       SignPayload(key_pem_, AdvertPayload(advert.study_id, advert.round, me_,
                                                           advert.c_public, advert.s_public)));
  c_keys_ = c;
  s_keys_ = s;
  phase_ = Phase::kAdvertised;
  return advert;
}

absl::StatusOr<std::map<std::string, KeyAdvert>> SecAggClient::VerifyAdvertList(
    const AdvertList& list) const {
  const std::string where = absl::StrCat("secagg client '", me_, "': advert list");
  SCV_RETURN_IF_ERROR(CheckSession(roster_, where, list.study_id, list.round));
  std::map<std::string, KeyAdvert> listed;
  for (const KeyAdvert& advert : list.adverts) {
    SCV_RETURN_IF_ERROR(Annotate(VerifyAdvert(roster_, advert), where));
    if (!listed.emplace(advert.site_id, advert).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": site '", advert.site_id, "' is listed twice"));
    }
  }
  auto mine = listed.find(me_);
  if (mine == listed.end() || mine->second.c_public != c_keys_->public_key() ||
      mine->second.s_public != s_keys_->public_key()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": does not carry this site's own advertised keys"));
  }
  std::map<std::string, KeyAdvert> recipients;
  for (auto& [site, advert] : listed) {
    if (site == me_ || roster_.AreNeighbours(me_, site)) recipients.emplace(site, advert);
  }
  if (recipients.size() < static_cast<size_t>(roster_.threshold())) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": ", recipients.size(), " sites of this site's neighbourhood (",
                     "itself included) advertised keys, ", roster_.threshold(), " needed"));
  }
  return recipients;
}

absl::StatusOr<std::vector<EncryptedShare>> SecAggClient::EncryptShares(
    const std::map<std::string, KeyAdvert>& recipients, const Bytes32& seed, SharePlaintext* own) {
  std::vector<uint8_t> indices;
  for (const auto& [site, advert] : recipients) indices.push_back(roster_.ShareIndex(site));
  const int t = roster_.threshold();
  SCV_ASSIGN_OR_RETURN(auto key_shares, ShamirSplit(s_keys_->private_key(), t, indices, *random_));
  SCV_ASSIGN_OR_RETURN(auto seed_shares, ShamirSplit(seed, t, indices, *random_));
  const SecAggConfig& config = roster_.config();
  std::vector<EncryptedShare> out;
  size_t i = 0;
  for (const auto& [site, advert] : recipients) {
    SharePlaintext plain{me_, site, key_shares[i], seed_shares[i]};
    ++i;
    if (site == me_) {
      *own = plain;
      continue;
    }
    SCV_ASSIGN_OR_RETURN(Bytes32 key,
                         AgreeAndDerive(c_keys_->private_key(), advert.c_public,
                                        KdfInfo(KeyPurpose::kShareEncryption, config.study_id,
                                                config.round, me_, site)));
    SCV_ASSIGN_OR_RETURN(std::string sealed,
                         SealShare(key, ShareAad{config.study_id, config.round, me_, site},
                                   plain.Serialize(), *random_));
    out.push_back(EncryptedShare{me_, site, std::move(sealed)});
  }
  return out;
}

absl::StatusOr<ShareKeysMessage> SecAggClient::ShareKeys(const AdvertList& adverts) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kAdvertised, "ShareKeys"));
  SCV_ASSIGN_OR_RETURN(auto recipients, VerifyAdvertList(adverts));
  Bytes32 seed;
  SCV_RETURN_IF_ERROR(random_->Fill(absl::MakeSpan(seed)));
  SharePlaintext own;
  SCV_ASSIGN_OR_RETURN(std::vector<EncryptedShare> shares, EncryptShares(recipients, seed, &own));
  self_seed_ = seed;
  recipients.erase(me_);
  neighbours_ = std::move(recipients);
  held_ = {{me_, own}};
  phase_ = Phase::kSharedKeys;
  const SecAggConfig& config = roster_.config();
  return ShareKeysMessage{config.study_id, config.round, me_, std::move(shares)};
}

absl::StatusOr<std::map<std::string, SharePlaintext>> SecAggClient::DecryptBundle(
    const ShareBundle& bundle) const {
  const std::string where = absl::StrCat("secagg client '", me_, "': share bundle");
  const SecAggConfig& config = roster_.config();
  SCV_RETURN_IF_ERROR(CheckSession(roster_, where, bundle.study_id, bundle.round));
  if (bundle.recipient != me_) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": addressed to '", bundle.recipient, "'"));
  }
  std::map<std::string, SharePlaintext> held = held_;
  for (const EncryptedShare& share : bundle.shares) {
    auto peer = neighbours_.find(share.sender);
    if (peer == neighbours_.end() || share.recipient != me_) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": a share from '", share.sender,
                                                     "' to '", share.recipient,
                                                     "' was not expected here"));
    }
    if (held.count(share.sender) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": two shares from '", share.sender, "'"));
    }
    SCV_ASSIGN_OR_RETURN(Bytes32 key,
                         AgreeAndDerive(c_keys_->private_key(), peer->second.c_public,
                                        KdfInfo(KeyPurpose::kShareEncryption, config.study_id,
                                                config.round, me_, share.sender)));
    SCV_ASSIGN_OR_RETURN(std::string bytes,
                         OpenShare(key, ShareAad{config.study_id, config.round, share.sender, me_},
                                   share.ciphertext));
    SCV_ASSIGN_OR_RETURN(SharePlaintext plain, SharePlaintext::Parse(bytes));
    const uint8_t index = roster_.ShareIndex(me_);
    if (plain.sender != share.sender || plain.recipient != me_ ||
        plain.masking_key_share.index != index || plain.seed_share.index != index) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the share from '", share.sender, "' is inconsistent"));
    }
    held.emplace(share.sender, std::move(plain));
  }
  return held;
}

absl::Status SecAggClient::AddMasks(const std::map<std::string, SharePlaintext>& held,
                                    absl::Span<uint64_t> y) const {
  SCV_RETURN_IF_ERROR(ApplyMask(self_seed_, MaskSign::kAdd, y));
  const SecAggConfig& config = roster_.config();
  for (const auto& [peer, plain] : held) {
    if (peer == me_) continue;
    SCV_ASSIGN_OR_RETURN(
        Bytes32 seed, PairwiseSeed(config.study_id, config.round, me_, s_keys_->private_key(), peer,
                                   neighbours_.at(peer).s_public));
    SCV_RETURN_IF_ERROR(ApplyMask(seed, PairwiseSign(me_, peer), y));
  }
  return absl::OkStatus();
}

absl::StatusOr<MaskedInput> SecAggClient::MaskInput(const ShareBundle& bundle,
                                                    absl::Span<const double> values) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kSharedKeys, "MaskInput"));
  const std::string where = absl::StrCat("secagg client '", me_, "': MaskInput");
  const SecAggConfig& config = roster_.config();
  if (values.size() != config.vector_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", values.size(), " values, the study declares ", config.vector_length));
  }
  SCV_ASSIGN_OR_RETURN(auto held, DecryptBundle(bundle));
  if (held.size() < static_cast<size_t>(roster_.threshold())) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": shares from ", held.size(),
                                                      " sites (itself included), ",
                                                      roster_.threshold(), " needed"));
  }
  MaskedInput out{config.study_id, config.round, me_, std::vector<uint64_t>(values.size())};
  SCV_RETURN_IF_ERROR(
      Annotate(roster_.codec().EncodeInto(values, absl::MakeSpan(out.masked)), where));
  SCV_RETURN_IF_ERROR(AddMasks(held, absl::MakeSpan(out.masked)));
  held_ = std::move(held);
  phase_ = Phase::kMasked;
  return out;
}

absl::Status SecAggClient::CheckUnmaskSets(const UnmaskRequest& request) const {
  const std::string where = absl::StrCat("secagg client '", me_, "': unmask request");
  SCV_RETURN_IF_ERROR(CheckSession(roster_, where, request.study_id, request.round));
  if (request.recipient != me_) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": addressed to '", request.recipient, "'"));
  }
  std::set<std::string> seen;
  for (const auto* list : {&request.survivors, &request.dropped}) {
    for (const std::string& site : *list) {
      if (!seen.insert(site).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": site '", site, "' appears twice (survivors and dropped must be disjoint)"));
      }
      if (held_.count(site) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": no share of site '", site, "' is held here"));
      }
    }
  }
  if (seen.size() != held_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": survivors and dropped name ",
                                                   seen.size(), " sites, shares are held for ",
                                                   held_.size()));
  }
  if (std::find(request.survivors.begin(), request.survivors.end(), me_) ==
      request.survivors.end()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": this site is not among survivors"));
  }
  if (request.survivors.size() < static_cast<size_t>(roster_.threshold())) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, ": ", request.survivors.size(), " survivors, ", roster_.threshold(), " needed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<UnmaskResponse> SecAggClient::Unmask(const UnmaskRequest& request) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kMasked, "Unmask"));
  SCV_RETURN_IF_ERROR(CheckUnmaskSets(request));
  const SecAggConfig& config = roster_.config();
  UnmaskResponse out{config.study_id, config.round, me_, {}};
  for (const std::string& site : request.survivors) {
    out.shares.push_back({site, ShareKind::kSelfMaskSeed, held_.at(site).seed_share});
  }
  for (const std::string& site : request.dropped) {
    out.shares.push_back({site, ShareKind::kMaskingKey, held_.at(site).masking_key_share});
  }
  phase_ = Phase::kUnmasked;
  return out;
}

}  // namespace scancov::privacy::secagg
