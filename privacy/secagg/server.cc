#include "privacy/secagg/server.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/session_checks.h"

namespace scancov::privacy::secagg {
namespace {

const char* PhaseName(int phase) {
  static const char* const kNames[] = {"advertising", "sharing", "masking", "unmasking", "done"};
  return kNames[phase];
}

absl::Status Duplicate(absl::string_view what, absl::string_view site) {
  return absl::AlreadyExistsError(
      absl::StrCat(what, ": a second message from '", site, "' is refused"));
}

}  // namespace

absl::StatusOr<SecAggServer> SecAggServer::Create(SecAggConfig config) {
  SCV_ASSIGN_OR_RETURN(SecAggRoster roster, SecAggRoster::Create(std::move(config)));
  return SecAggServer(std::move(roster));
}

absl::Status SecAggServer::CheckPhase(Phase expected, const char* step) const {
  if (phase_ == expected) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "secagg server: ", step, " is out of order (phase: ", PhaseName(static_cast<int>(phase_)),
      ", expected ", PhaseName(static_cast<int>(expected)), ")"));
}

absl::Status SecAggServer::CheckEnough(const char* phase, size_t have, const char* what) const {
  if (have >= static_cast<size_t>(roster_.threshold())) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("secagg ", phase, " phase: ", have, " ", what,
                                                    ", ", roster_.threshold(),
                                                    " needed (the threshold)"));
}

absl::Status SecAggServer::ReceiveAdvert(const KeyAdvert& advert) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kAdvertising, "ReceiveAdvert"));
  SCV_RETURN_IF_ERROR(VerifyAdvert(roster_, advert));
  if (adverts_.count(advert.site_id) > 0) return Duplicate("secagg advert", advert.site_id);
  adverts_.emplace(advert.site_id, advert);
  return absl::OkStatus();
}

absl::StatusOr<AdvertList> SecAggServer::CloseAdvertising() {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kAdvertising, "CloseAdvertising"));
  SCV_RETURN_IF_ERROR(CheckEnough("advertise", adverts_.size(), "sites advertised keys"));
  const SecAggConfig& config = roster_.config();
  AdvertList list{config.study_id, config.round, {}};
  for (const auto& [site, advert] : adverts_) list.adverts.push_back(advert);
  phase_ = Phase::kSharing;
  return list;
}

absl::Status SecAggServer::CheckShareList(const ShareKeysMessage& message) const {
  const std::string where = absl::StrCat("secagg shares of '", message.sender, "'");
  std::set<std::string> expected;
  for (const auto& [site, advert] : adverts_) {
    if (roster_.AreNeighbours(message.sender, site)) expected.insert(site);
  }
  std::set<std::string> seen;
  for (const EncryptedShare& share : message.shares) {
    if (share.sender != message.sender || expected.count(share.recipient) == 0 ||
        !seen.insert(share.recipient).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a share from '", share.sender, "' to '", share.recipient,
                       "' is not expected (unknown, not a listed neighbour, or twice)"));
    }
  }
  if (seen.size() != expected.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", seen.size(),
                                                   " shares, one for each of the ", expected.size(),
                                                   " listed neighbours needed"));
  }
  return absl::OkStatus();
}

absl::Status SecAggServer::ReceiveShares(const ShareKeysMessage& message) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kSharing, "ReceiveShares"));
  SCV_RETURN_IF_ERROR(CheckSession(roster_, "secagg shares", message.study_id, message.round));
  if (adverts_.count(message.sender) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("secagg shares: site '", message.sender,
                                                   "' did not advertise keys this round"));
  }
  if (shares_.count(message.sender) > 0) return Duplicate("secagg shares", message.sender);
  SCV_RETURN_IF_ERROR(CheckShareList(message));
  shares_.emplace(message.sender, message);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ShareBundle>> SecAggServer::CloseSharing() {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kSharing, "CloseSharing"));
  SCV_RETURN_IF_ERROR(CheckEnough("share-keys", shares_.size(), "sites shared keys"));
  const SecAggConfig& config = roster_.config();
  std::map<std::string, ShareBundle> bundles;
  for (const auto& [site, message] : shares_) {
    bundles[site] = ShareBundle{config.study_id, config.round, site, {}};
  }
  for (const auto& [sender, message] : shares_) {
    for (const EncryptedShare& share : message.shares) {
      auto it = bundles.find(share.recipient);
      if (it != bundles.end()) it->second.shares.push_back(share);  // else: it dropped out
    }
  }
  std::vector<ShareBundle> out;
  for (auto& [site, bundle] : bundles) out.push_back(std::move(bundle));
  phase_ = Phase::kMasking;
  return out;
}

absl::Status SecAggServer::CheckMaskedInput(const std::string& study_id, uint64_t round,
                                            const std::string& site_id) const {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kMasking, "a masked input"));
  SCV_RETURN_IF_ERROR(CheckSession(roster_, "secagg masked input", study_id, round));
  if (shares_.count(site_id) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg masked input: site '", site_id, "' did not share keys this round"));
  }
  if (inputs_.count(site_id) > 0) return Duplicate("secagg masked input", site_id);
  return absl::OkStatus();
}

absl::Status SecAggServer::NoteMaskedInput(const std::string& study_id, uint64_t round,
                                           const std::string& site_id) {
  if (!external_sum_ && !inputs_.empty()) {
    return absl::FailedPreconditionError(
        "secagg masked input: this session holds the inputs itself (ReceiveMaskedInput)");
  }
  SCV_RETURN_IF_ERROR(CheckMaskedInput(study_id, round, site_id));
  external_sum_ = true;
  inputs_.emplace(site_id, std::vector<uint64_t>());
  return absl::OkStatus();
}

absl::Status SecAggServer::ReceiveMaskedInput(MaskedInput input) {
  if (external_sum_) {
    return absl::FailedPreconditionError(
        "secagg masked input: this session sums the inputs outside (NoteMaskedInput)");
  }
  SCV_RETURN_IF_ERROR(CheckMaskedInput(input.study_id, input.round, input.site_id));
  if (input.masked.size() != roster_.config().vector_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg masked input of '", input.site_id, "': ", input.masked.size(),
                     " elements, the study declares ", roster_.config().vector_length));
  }
  inputs_.emplace(input.site_id, std::move(input.masked));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UnmaskRequest>> SecAggServer::CloseMasking() {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kMasking, "CloseMasking"));
  SCV_RETURN_IF_ERROR(CheckEnough("masked-input", inputs_.size(), "sites sent masked input"));
  for (const auto& [site, message] : shares_) {
    if (inputs_.count(site) == 0) dropped_.insert(site);
  }
  const SecAggConfig& config = roster_.config();
  std::vector<UnmaskRequest> out;
  for (const auto& [site, input] : inputs_) {
    // The client holds shares of exactly the neighbours that shared keys, and its own.
    UnmaskRequest request{config.study_id, config.round, site, {}, {}};
    for (const auto& [other, message] : shares_) {
      if (other != site && !roster_.AreNeighbours(site, other)) continue;
      (inputs_.count(other) > 0 ? request.survivors : request.dropped).push_back(other);
    }
    requests_.emplace(site, request);
    out.push_back(std::move(request));
  }
  phase_ = Phase::kUnmasking;
  return out;
}

}  // namespace scancov::privacy::secagg
