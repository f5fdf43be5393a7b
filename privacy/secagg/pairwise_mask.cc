#include "privacy/secagg/pairwise_mask.h"

namespace scancov::privacy::secagg {

absl::StatusOr<Bytes32> PairwiseSeed(absl::string_view study_id, uint64_t round,
                                     absl::string_view me, const Bytes32& my_s_private,
                                     absl::string_view peer, const Bytes32& peer_s_public) {
  return AgreeAndDerive(my_s_private, peer_s_public,
                        KdfInfo(KeyPurpose::kPairwiseMask, study_id, round, me, peer));
}

}  // namespace scancov::privacy::secagg
