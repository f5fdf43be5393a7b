// The pairwise masks of SecAgg: sites u and v agree on a seed s_uv from their "s" key pairs,
// and u adds PRG(s_uv) to its input while v subtracts it (or the other way round), so the masks
// cancel in the sum. The site whose id sorts first adds.
//
// The same seed is derived by u from (s_u private, s_v public) and by the server from a dropped
// site's rebuilt private key, which is how the server removes the masks a dropped site left in
// the survivors' inputs. Stateless; thread-safe.
#ifndef SCANCOV_PRIVACY_SECAGG_PAIRWISE_MASK_H_
#define SCANCOV_PRIVACY_SECAGG_PAIRWISE_MASK_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/mask_generator.h"

namespace scancov::privacy::secagg {

// HKDF(X25519(my_s_private, peer_s_public)) with info (kPairwiseMask, study, round, me, peer).
absl::StatusOr<Bytes32> PairwiseSeed(absl::string_view study_id, uint64_t round,
                                     absl::string_view me, const Bytes32& my_s_private,
                                     absl::string_view peer, const Bytes32& peer_s_public);

// How `me`'s input carries the mask it shares with `peer`.
inline MaskSign PairwiseSign(absl::string_view me, absl::string_view peer) {
  return me < peer ? MaskSign::kAdd : MaskSign::kSubtract;
}

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_PAIRWISE_MASK_H_
