// SecAggStep: a site's part in one round's secure aggregation (privacy/secagg), driven over the
// SecAgg RPC for a task whose study asks for it (a TRAIN task's update, an ANALYZE task's sums).
// The gate has already run the task and released its result; what leaves instead is the site's
// vector (node/secagg_session.h, SecAggPayloadOf) masked so that the aggregator learns only the
// sum over sites:
//
//   SESSION        the aggregator's session; checked against the task (CheckSession): a
//                  session this site may not join ends the step, nothing sent
//   ADVERTISE      the site's signed public keys -> every participant's adverts
//   SHARE_KEYS     Shamir shares of its secrets, encrypted per neighbour -> the shares for it
//   (upload)       the masked vector as int64 tensors, with the release's header, through the
//                  caller's upload function (the agent's ledger-marking upload path)
//   UNMASK_REQUEST who survived and who dropped out -> UNMASK: the shares asked for
//
// Each phase is asked again while the aggregator answers Wait (sleeping wait_ms on the clock),
// until the task's deadline (deadline_unix, when set) or cancellation; transient errors are
// retried by the Retrier (phases are idempotent: the same bytes are sent again). Stop before the
// upload ends the step failed, nothing sent; Stop after it just ends it.
//
// The keys exist only inside Run: a restarted node cannot finish a round (it is a dropout), so
// the masked result must not be kept for re-sending. Never logs key material or weights.
//
// Thread safety: not thread-safe; one step per task on the agent's thread.
#ifndef SCANCOV_NODE_SECAGG_STEP_H_
#define SCANCOV_NODE_SECAGG_STEP_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "node/gate.h"
#include "node/retry.h"
#include "node/secagg_session.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/secure_random.h"
#include "protocol/federation_client.h"

namespace scancov::node {

class SecAggStep {
 public:
  // Sends the masked release (same header and ledger entry as the gate's, masked weights);
  // OK once the aggregator has accepted it (a duplicate included).
  using UploadFn = std::function<absl::Status(const Release& masked)>;

  struct Outcome {
    absl::Status status;    // OK: the round's part of this site is done
    bool uploaded = false;  // the masked input was accepted (status may still fail later)
  };

  // `client`, `retrier` and `random` are not owned and must outlive the step.
  SecAggStep(protocol::FederationClient* client, Retrier* retrier, SecAggIdentity identity,
             privacy::secagg::SecureRandom* random = &privacy::secagg::SecureRandom::System())
      : client_(client), retrier_(retrier), me_(std::move(identity)), random_(random) {}

  // Runs the protocol for `task` (settings from TaskSecAggSettings) over `payload`
  // (SecAggPayloadOf the gate's `release`): the masked vector leaves with payload.header under
  // the release's ledger entry.
  Outcome Run(const v1::Task& task, const SecAggSettings& settings, const SecAggPayload& payload,
              const Release& release, const UploadFn& upload);

 private:
  // Sends `message` in `phase` until the answer is not Wait.
  absl::StatusOr<v1::SecAggResponse> Exchange(const v1::Task& task, v1::SecAggPhase phase,
                                              const std::string& message);
  // As Exchange, for an answer that must be a message; Stop is an error.
  absl::StatusOr<std::string> ExchangeForMessage(const v1::Task& task, v1::SecAggPhase phase,
                                                 const std::string& message);
  // SESSION: the checked session's client.
  absl::StatusOr<privacy::secagg::SecAggClient> Join(const v1::Task& task,
                                                     const SecAggSettings& settings,
                                                     uint64_t vector_length);
  // ADVERTISE and SHARE_KEYS, then the masking of `x`.
  absl::StatusOr<privacy::secagg::MaskedInput> Mask(const v1::Task& task,
                                                    privacy::secagg::SecAggClient& client,
                                                    const std::vector<double>& x);
  // UNMASK_REQUEST and UNMASK.
  absl::Status Unmask(const v1::Task& task, privacy::secagg::SecAggClient& client);

  protocol::FederationClient* client_;
  Retrier* retrier_;
  SecAggIdentity me_;
  privacy::secagg::SecureRandom* random_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_SECAGG_STEP_H_
