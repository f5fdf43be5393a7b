// SecAggServer: the aggregator's side of secure aggregation for one study round. It learns the
// sum of the surviving sites' vectors and nothing else about any one of them (against a server
// that follows the protocol; see client.h for what each site refuses to a server that does not).
//
//   ReceiveAdvert(KeyAdvert)*            signature-checked; then CloseAdvertising() -> AdvertList
//   ReceiveShares(ShareKeysMessage)*     routed unread; then CloseSharing() -> a ShareBundle for
//                                        each site that shared keys
//   ReceiveMaskedInput(MaskedInput)*     then CloseMasking() -> an UnmaskRequest for each site
//                                        whose input arrived (survivors S; the sites that shared
//                                        keys but sent no input are dropped, D)
//   ReceiveUnmaskResponse(...)*          then Finish(): rebuilds b_u for u in S and s_sk_v for v
//                                        in D from >= t shares each, removes the masks and
//                                        returns the sum of S's inputs
//
// Receive* refuse a message for another study or round, from a site that is not a participant
// (or not one at this stage), a duplicate, or one out of phase, with a clear error; the session
// goes on. Close*/Finish fail with FailedPrecondition naming the phase, how many sites took part
// and how many were needed when fewer than t remain. Wrong shares are detected rather than
// silently corrupting the sum: a rebuilt masking key must match the site's advertised public key,
// and when more than t sites answered, every secret's shares must lie on one polynomial (a wrong
// self-mask seed share among exactly t answers goes undetected: the seed has no commitment).
// Not thread-safe: the integrator serialises calls.
#ifndef SCANCOV_PRIVACY_SECAGG_SERVER_H_
#define SCANCOV_PRIVACY_SECAGG_SERVER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/messages.h"

namespace scancov::privacy::secagg {

struct SecAggResult {
  std::vector<uint64_t> ring_sum;     // exact sum of the included encodings, mod 2^64
  std::vector<double> sum;            // decoded (fixed_point.h states the resolution)
  std::vector<std::string> included;  // the survivors whose inputs are in the sum
  std::vector<std::string> dropped;   // shared keys, then sent no input
};

class SecAggServer {
 public:
  static absl::StatusOr<SecAggServer> Create(SecAggConfig config);

  absl::Status ReceiveAdvert(const KeyAdvert& advert);
  absl::StatusOr<AdvertList> CloseAdvertising();
  absl::Status ReceiveShares(const ShareKeysMessage& message);
  absl::StatusOr<std::vector<ShareBundle>> CloseSharing();
  absl::Status ReceiveMaskedInput(MaskedInput input);
  // For an integrator that sums the masked inputs itself (one running ring sum, whatever the
  // number of sites: the aggregator folds uploads as they arrive): each accepted input is noted
  // here instead of ReceiveMaskedInput (same checks, the vector is not held), and the ring sum of
  // exactly the noted inputs goes to FinishWithSum. The two ways cannot be mixed in a session.
  absl::Status NoteMaskedInput(const std::string& study_id, uint64_t round,
                               const std::string& site_id);
  absl::StatusOr<std::vector<UnmaskRequest>> CloseMasking();
  absl::Status ReceiveUnmaskResponse(const UnmaskResponse& response);
  absl::StatusOr<SecAggResult> Finish();
  absl::StatusOr<SecAggResult> FinishWithSum(std::vector<uint64_t> ring_sum_of_inputs);

 private:
  enum class Phase { kAdvertising, kSharing, kMasking, kUnmasking, kDone };

  explicit SecAggServer(SecAggRoster roster) : roster_(std::move(roster)) {}

  absl::Status CheckPhase(Phase expected, const char* step) const;
  absl::Status CheckEnough(const char* phase, size_t have, const char* what) const;
  absl::Status CheckShareList(const ShareKeysMessage& message) const;
  absl::Status CheckResponse(const UnmaskResponse& response) const;
  absl::StatusOr<std::map<std::string, Bytes32>> Rebuild(ShareKind kind,
                                                         const std::set<std::string>& owners) const;
  absl::Status CheckMaskedInput(const std::string& study_id, uint64_t round,
                                const std::string& site_id) const;
  absl::StatusOr<SecAggResult> Unmask(std::vector<uint64_t> ring_sum);
  absl::Status RemoveDroppedMasks(const std::map<std::string, Bytes32>& keys,
                                  std::vector<uint64_t>& sum) const;

  SecAggRoster roster_;
  Phase phase_ = Phase::kAdvertising;
  std::map<std::string, KeyAdvert> adverts_;             // U1
  std::map<std::string, ShareKeysMessage> shares_;       // by sender: U2
  std::map<std::string, std::vector<uint64_t>> inputs_;  // U3 = S
  bool external_sum_ = false;                            // NoteMaskedInput: inputs_ empty
  std::set<std::string> dropped_;                        // D = U2 \ U3
  std::map<std::string, UnmaskRequest> requests_;        // by survivor
  std::map<std::string, UnmaskResponse> responses_;      // by survivor
};

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_SERVER_H_
