// SecAggRounds: the aggregator's side of secure aggregation (privacy/secagg) for the training
// rounds of studies that ask for it (StudySpec.privacy_json {"secure_aggregation": {...}}).
// It learns the sum of the surviving sites' updates and which sites are in it, nothing about
// any one site's update.
//
// One session per (study, round), driven by the sites' SecAgg calls (protocol/scancov.proto):
//   session     fixed once every participant (the round's training sites) has asked, or once
//               `threshold` have and the phase wait has passed since: the participants are the
//               sites that asked, with the certificates they presented over mutual TLS (every
//               node checks them against the consortium CA);
//   advertise   signed key adverts; closes when every session participant has sent one, or
//               `threshold` have and the wait has passed;
//   share keys  encrypted shares, routed unread; closes likewise;
//   masking     the masked updates arrive as the tasks' uploads: the Federation folds them into
//               one running ring sum and notes each here (NoteMaskedInput); it closes masking
//               when the round would otherwise close (every result in, or the deadline);
//   unmask      the survivors' shares; ready when every survivor has answered, or `threshold`
//               have and the wait has passed; Finish then removes the masks from the ring sum.
// A site that missed a phase is answered Stop ("dropped"); a phase that ends below the
// threshold fails the session, and every later call is answered Stop with the reason.
// Sessions live in memory: an aggregator restarted during one fails that round's secure
// aggregation (its sites' keys are gone with it; the study reports the reason).
//
// Thread safety: none; the Federation calls it under its own lock.
#ifndef SCANCOV_AGGREGATOR_SERVER_SECAGG_ROUNDS_H_
#define SCANCOV_AGGREGATOR_SERVER_SECAGG_ROUNDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/study_options.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

using SecAggSettings = privacy::secagg::StudyOptions;

// The "secure_aggregation" block of a study's privacy options, checked for `num_sites` training
// sites (2 <= t <= n, 2t above the neighbourhood, no fixed-point overflow); nullopt without one.
// InvalidArgument naming the key at fault.
absl::StatusOr<std::optional<SecAggSettings>> ParseSecAggSettings(const std::string& privacy_json,
                                                                  int num_sites);

class SecAggRounds {
 public:
  explicit SecAggRounds(absl::Duration phase_wait) : phase_wait_(phase_wait) {}

  // Opens the session of `study` `round` unless it exists. `participants`: the round's training
  // sites; `vector_length`: the round model's element count.
  void Open(const std::string& study, uint32_t round, std::vector<std::string> participants,
            const SecAggSettings& settings, uint64_t vector_length, absl::Time now);
  bool Active(const std::string& study, uint32_t round) const;
  // Drops every session of `study` (its round closed, or it ended).
  void Forget(const std::string& study);

  // A site's call for its task in `study` `round`; `certificate_pem`: what it presented over
  // mutual TLS. `wait`: how long to tell it to wait. InvalidArgument for a malformed message
  // or a message that is not the site's own (the session goes on).
  absl::StatusOr<v1::SecAggResponse> Handle(const std::string& study, uint32_t round,
                                            const std::string& site,
                                            const std::string& certificate_pem,
                                            const v1::SecAggRequest& request, absl::Time now,
                                            absl::Duration wait);

  // `site` finished its task without a masked input (a refusal sent in clear, a failure): while
  // the session is not fixed it is no longer waited for (a no-op otherwise).
  void Withdraw(const std::string& study, uint32_t round, const std::string& site);

  // Whether `site`'s masked upload may be accepted now (it shared keys and masking is open),
  // and noting it once accepted.
  absl::Status CheckMaskedInput(const std::string& study, uint32_t round,
                                const std::string& site) const;
  absl::Status NoteMaskedInput(const std::string& study, uint32_t round, const std::string& site);

  // Masking is over: the unmask phase opens (idempotent). FailedPrecondition when too few
  // inputs arrived (the session fails).
  absl::Status CloseMasking(const std::string& study, uint32_t round, absl::Time now);
  // Whether the round may finish now; an error when the session failed.
  absl::StatusOr<bool> ReadyToFinish(const std::string& study, uint32_t round, absl::Time now);
  // The sum of the included sites' vectors from the ring sum of their masked uploads.
  absl::StatusOr<privacy::secagg::SecAggResult> Finish(const std::string& study, uint32_t round,
                                                       std::vector<uint64_t> ring_sum);
  // Whether any session waits for a phase to close by time (the Federation's Tick then
  // re-checks its round).
  std::vector<std::pair<std::string, uint32_t>> InUnmasking() const;

 private:
  enum class Stage { kSession, kAdvertising, kSharing, kMasking, kUnmasking, kDone, kFailed };
  struct Session {
    SecAggSettings settings;
    std::vector<std::string> participants;
    uint64_t vector_length = 0;
    uint64_t graph_seed = 0;
    std::map<std::string, std::string> certificates;  // those that asked for the session
    std::optional<v1::SecAggSession> session;
    std::optional<privacy::secagg::SecAggServer> server;
    Stage stage = Stage::kSession;
    absl::Time opened;
    std::optional<absl::Time> enough_since;  // when the current phase reached the threshold
    std::set<std::string> sent;              // the current phase's senders
    size_t expected = 0;                     // senders the current phase waits for
    std::string advert_list;
    std::map<std::string, std::string> bundles;
    std::map<std::string, std::string> requests;
    std::string failure;
  };
  using Key = std::pair<std::string, uint32_t>;

  Session* Find(const std::string& study, uint32_t round);
  const Session* Find(const std::string& study, uint32_t round) const;
  // Whether the current phase may close: everyone expected sent, or enough and the wait is over.
  bool PhaseOver(Session& s, size_t expected, absl::Time now) const;
  void Fail(Session& s, const absl::Status& why);
  void Advance(Session& s, const std::string& study, uint32_t round, absl::Time now);
  absl::Status FixSession(Session& s, const std::string& study, uint32_t round);
  absl::StatusOr<v1::SecAggResponse> Answer(Session& s, const std::string& site,
                                            v1::SecAggPhase phase, absl::Duration wait) const;
  absl::Status Receive(Session& s, const std::string& site, const std::string& cert,
                       const v1::SecAggRequest& request);

  absl::Duration phase_wait_;
  std::map<Key, Session> sessions_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_SECAGG_ROUNDS_H_
