// The unmasking half of SecAggServer: collecting shares and removing the masks.
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/pairwise_mask.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/session_checks.h"
#include "privacy/secagg/shamir.h"

namespace scancov::privacy::secagg {

absl::Status SecAggServer::CheckResponse(const UnmaskResponse& response) const {
  const std::string where = absl::StrCat("secagg unmask response of '", response.site_id, "'");
  SCV_RETURN_IF_ERROR(CheckSession(roster_, where, response.study_id, response.round));
  auto request = requests_.find(response.site_id);
  if (request == requests_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": no unmask request was sent to it"));
  }
  if (responses_.count(response.site_id) > 0)
    return absl::AlreadyExistsError(absl::StrCat(where, ": a second response is refused"));
  // Exactly what was asked: a b-share per survivor, an s_sk-share per dropped site, in order.
  const UnmaskRequest& asked = request->second;
  const uint8_t index = roster_.ShareIndex(response.site_id);
  size_t i = 0;
  bool ok = response.shares.size() == asked.survivors.size() + asked.dropped.size();
  for (const auto& [list, kind] : {std::pair{&asked.survivors, ShareKind::kSelfMaskSeed},
                                   std::pair{&asked.dropped, ShareKind::kMaskingKey}}) {
    for (const std::string& owner : *list) {
      if (!ok) break;
      const RevealedShare& s = response.shares[i++];
      ok = s.owner == owner && s.kind == kind && s.share.index == index;
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": does not answer the request (owners, kinds or share index)"));
  }
  return absl::OkStatus();
}

absl::Status SecAggServer::ReceiveUnmaskResponse(const UnmaskResponse& response) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kUnmasking, "ReceiveUnmaskResponse"));
  SCV_RETURN_IF_ERROR(CheckResponse(response));
  responses_.emplace(response.site_id, response);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, Bytes32>> SecAggServer::Rebuild(
    ShareKind kind, const std::set<std::string>& owners) const {
  std::map<std::string, std::vector<ShamirShare>> shares;
  for (const auto& [site, response] : responses_) {
    for (const RevealedShare& s : response.shares) {
      if (s.kind == kind) shares[s.owner].push_back(s.share);
    }
  }
  const char* what = kind == ShareKind::kSelfMaskSeed ? "self-mask seed" : "masking key";
  std::map<std::string, Bytes32> out;
  for (const std::string& owner : owners) {
    const size_t have = shares[owner].size();
    if (have < static_cast<size_t>(roster_.threshold())) {
      return absl::FailedPreconditionError(
          absl::StrCat("secagg unmask phase: the ", what, " of '", owner, "' has ", have,
                       " shares, ", roster_.threshold(), " needed (the threshold)"));
    }
    const std::string where = absl::StrCat("secagg unmask phase: the ", what, " of '", owner, "'");
    SCV_RETURN_IF_ERROR(Annotate(ShamirCheckConsistent(shares[owner], roster_.threshold()), where));
    SCV_ASSIGN_OR_RETURN(out[owner], ShamirReconstruct(shares[owner], roster_.threshold()));
    if (kind == ShareKind::kMaskingKey) {
      SCV_ASSIGN_OR_RETURN(X25519KeyPair pair, X25519KeyPair::FromPrivateKey(out[owner]));
      if (pair.public_key() != adverts_.at(owner).s_public) {
        return absl::DataLossError(
            absl::StrCat("secagg unmask phase: the masking key rebuilt for '", owner,
                         "' does not match its advert (a wrong share)"));
      }
    }
  }
  return out;
}

absl::Status SecAggServer::RemoveDroppedMasks(const std::map<std::string, Bytes32>& keys,
                                              std::vector<uint64_t>& sum) const {
  const SecAggConfig& config = roster_.config();
  for (const auto& [gone, key] : keys) {
    for (const auto& [site, input] : inputs_) {
      if (!roster_.AreNeighbours(site, gone)) continue;
      SCV_ASSIGN_OR_RETURN(Bytes32 seed, PairwiseSeed(config.study_id, config.round, gone, key,
                                                      site, adverts_.at(site).s_public));
      // `site` applied PairwiseSign(site, gone); undo it.
      const MaskSign undo =
          PairwiseSign(site, gone) == MaskSign::kAdd ? MaskSign::kSubtract : MaskSign::kAdd;
      SCV_RETURN_IF_ERROR(ApplyMask(seed, undo, absl::MakeSpan(sum)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SecAggResult> SecAggServer::Finish() {
  if (external_sum_) {
    return absl::FailedPreconditionError("secagg: the inputs were summed outside: FinishWithSum");
  }
  std::vector<uint64_t> ring_sum(roster_.config().vector_length, 0);
  for (const auto& [site, input] : inputs_) {
    for (size_t i = 0; i < input.size(); ++i) ring_sum[i] += input[i];
  }
  return Unmask(std::move(ring_sum));
}

absl::StatusOr<SecAggResult> SecAggServer::FinishWithSum(std::vector<uint64_t> ring_sum) {
  if (!external_sum_) {
    return absl::FailedPreconditionError("secagg: the session holds its inputs: Finish");
  }
  if (ring_sum.size() != roster_.config().vector_length) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: a ring sum of ", ring_sum.size(),
                                                   " elements, the session declares ",
                                                   roster_.config().vector_length));
  }
  return Unmask(std::move(ring_sum));
}

absl::StatusOr<SecAggResult> SecAggServer::Unmask(std::vector<uint64_t> ring_sum) {
  SCV_RETURN_IF_ERROR(CheckPhase(Phase::kUnmasking, "Finish"));
  SCV_RETURN_IF_ERROR(CheckEnough("unmask", responses_.size(), "sites answered"));
  std::set<std::string> survivors;
  for (const auto& [site, input] : inputs_) survivors.insert(site);
  SCV_ASSIGN_OR_RETURN(auto seeds, Rebuild(ShareKind::kSelfMaskSeed, survivors));
  SCV_ASSIGN_OR_RETURN(auto keys, Rebuild(ShareKind::kMaskingKey, dropped_));
  SecAggResult result;
  result.ring_sum = std::move(ring_sum);
  for (const std::string& site : survivors) {
    SCV_RETURN_IF_ERROR(
        ApplyMask(seeds.at(site), MaskSign::kSubtract, absl::MakeSpan(result.ring_sum)));
    result.included.push_back(site);
  }
  SCV_RETURN_IF_ERROR(RemoveDroppedMasks(keys, result.ring_sum));
  result.sum = roster_.codec().Decode(result.ring_sum);
  result.dropped.assign(dropped_.begin(), dropped_.end());
  phase_ = Phase::kDone;
  return result;
}

}  // namespace scancov::privacy::secagg
