// NodeAgent: the node daemon's loop. It only dials out: register, then repeatedly pull the next
// action (run a task / wait / stop), download the task's checkpoint, hand the task to the gate
// (node/gate.h: policy, run, release check, egress ledger), upload what the gate released, and
// record the outcome. The agent is transport only: it never decides what may leave.
//
// Failure handling:
//  - transient errors (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, DATA_LOSS:
//    the aggregator restarting, a dropped connection, a chunk corrupted in transit) are retried
//    with exponential backoff and jitter; every call is idempotent by task id, so a retried
//    upload of an already-accepted result is answered "duplicate";
//  - the aggregator refusing the node itself (UNAUTHENTICATED, PERMISSION_DENIED on register or
//    pull) ends Run with that status: a steward must act (certificate, enrolment);
//  - a task that fails locally or whose result is refused is logged and recorded; the agent
//    backs off and carries on with the next pull;
//  - a task the aggregator no longer counts (the heartbeat's answer: its round closed, it
//    expired, its study was aborted) is stopped at the runner's next check (Progress,
//    core/progress.h), logged as "stopped", and nothing is sent or ledgered for it but its
//    heartbeats;
//  - with a ResultKeeper (node/result_keeper.h), a released result is kept before it is first
//    sent and until the aggregator answers it (accepted, duplicate, or refused for good): when
//    the upload keeps failing, the node is killed or the aggregator restarts, the aggregator
//    offers the task again and the agent sends the kept result instead of running the task
//    again, marking the same ledger entry (it is the same release). Kept results of tasks never
//    offered again are dropped after `keep_results_for`, and all of them once no running study
//    includes the site.
//  - a TRAIN task whose study asks for secure aggregation (Task.privacy_json) leaves masked
//    (node/secagg_step.h): the plain release is never sent, its ledger entry is marked as sent
//    masked, and it is never kept (the round's keys die with the process: a restarted node is
//    a dropout of that round).
//
// The node's own messages are in the egress ledger too, written by this agent's thread through
// the gate (node/control_egress.h): each registration, and each task's heartbeats (recorded
// before the first beat, amended with their count, bytes and texts when the task ends, however
// it ends; an entry left 'pending' by a node killed mid-task or mid-registration is marked
// 'interrupted' when Run starts again).
//
// Thread safety: Run on one thread; Cancel may be called from any thread.
#ifndef SCANCOV_NODE_AGENT_H_
#define SCANCOV_NODE_AGENT_H_

#include <atomic>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/version.h"
#include "node/clock_skew.h"
#include "node/gate.h"
#include "node/result_keeper.h"
#include "node/retry.h"
#include "node/secagg_session.h"
#include "node/task_log.h"
#include "protocol/federation_client.h"

namespace scancov::node {

struct AgentOptions {
  Clock* clock = Clock::Real();
  std::string node_version = Version();  // core/version.h
  std::string device = "cpu";
  std::string destination;      // aggregator address, for the ledger
  bool exit_when_idle = false;  // return once no running study includes this site
  int idle_polls_before_exit = 2;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  int attempts_per_call = 6;  // transient retries of one call before giving up on it
  uint64_t jitter_seed = 1;
  // Where released results wait for their acknowledgement; null: not kept (a result whose
  // upload fails is computed again when the task is offered again).
  ResultKeeper* keeper = nullptr;
  absl::Duration keep_results_for = absl::Hours(24 * 7);
  // Once cancelled (SIGTERM: systemctl stop), a task still running after this long is stopped
  // at its next check and nothing is sent for it (it runs again when offered again), so that the
  // node exits by itself within systemd's TimeoutStopSec (90 s) instead of being killed.
  absl::Duration stop_grace = absl::Seconds(30);
  // Secure aggregation (node/secagg_step.h): the site's id, the private key of its certificate
  // and the consortium CA. Without a key, a task whose study asks for it fails here.
  SecAggIdentity secagg;
};

class NodeAgent {
 public:
  // kTaskStopped: the aggregator stopped counting the task while it ran (its round closed, it
  // expired, its study was aborted; the heartbeat says so): it was stopped, nothing was sent.
  enum class Step {
    kRanTask,
    kTaskFailed,
    kTaskStopped,
    kAwaitingApproval,
    kWaited,
    kIdle,
    kStopped
  };

  // All pointers must outlive the agent; `log` may be null in tests.
  NodeAgent(protocol::FederationClient* client, TaskGate* gate, TaskLog* log, AgentOptions options);

  // Registers, then loops until Stop, idle exit (if enabled) or Cancel. Returns the refusal if
  // the aggregator refuses this node; OK when cancelled, registered or not (a service stopped).
  absl::Status Run();
  // One pull and whatever it asks for. Transient failures come back as errors.
  absl::StatusOr<Step> RunOnce();
  absl::Status RegisterWithRetry();
  // Stops Run at the next step: a backoff or a wait ends at once, a call in flight (a task pull
  // waits up to GrpcClientOptions::long_poll) is finished first, and a task being run gets
  // AgentOptions::stop_grace to finish before it is stopped. Safe to call from a signal handler
  // (a lock-free atomic store).
  void Cancel() { cancelled_ = true; }
  int tasks_completed() const { return tasks_completed_; }
  // Whether a Register or Heartbeat answer showed options.clock more than kMaxClockSkew off the
  // aggregator's (logged once).
  bool clock_skew_warned() const { return clock_skew_.warned(); }

 private:
  absl::StatusOr<Step> RunTask(const v1::Task& task);
  // The task from its checkpoint's download to its delivery, while its heartbeat runs.
  absl::StatusOr<Step> RunWhileBeating(const v1::Task& task, Progress& progress,
                                       TaskLogEntry* entry);
  // Uploads a released result (run now or kept from before) and records the outcome.
  absl::StatusOr<Step> Deliver(const Release& release, TaskLogEntry* entry);
  // Sends the release masked under secure aggregation (node/secagg_step.h) instead of itself.
  absl::StatusOr<Step> DeliverMasked(const v1::Task& task, const SecAggSettings& settings,
                                     const protocol::TensorSet* global, const Release& release,
                                     TaskLogEntry* entry);
  Step Completed(const Release& release, TaskLogEntry* entry);
  // Records a task that failed before anything was released, and reports a deterministic
  // failure to the aggregator (a failure code only).
  Step FailedLocally(const v1::Task& task, const absl::Status& why, TaskLogEntry* entry);
  // The kept result of a task, if any (a damaged one is dropped: the task runs again).
  std::optional<Release> FindKept(const std::string& task_id);
  void Finish(TaskLogEntry* entry, const std::string& state, const absl::Status& status);
  // Reports the decisions the aggregator has not heard of (pending requests, and the steward's
  // approvals and denials made with scancov-node approve/deny); failures are logged and retried
  // at the next step.
  void ReportDecisions();
  // Sends what the gate released and records the answer in the ledger (`note` first in its
  // detail); forgets a kept result once the aggregator has answered it for good.
  absl::Status Upload(const Release& release, absl::string_view note = "");

  protocol::FederationClient* client_;
  TaskGate* gate_;
  TaskLog* log_;
  AgentOptions options_;
  std::atomic<bool> cancelled_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
  Retrier retrier_;  // transient failures of calls; stops retrying once cancelled_
  // TRAIN tasks whose secure aggregation ended here for good (a refused session, Stop): not
  // run again if offered again.
  std::set<std::string> secagg_ended_;
  int tasks_completed_ = 0;
  absl::Duration heartbeat_ = absl::ZeroDuration();  // from Register; zero: none
  ClockSkewWatch clock_skew_;                        // Register's and the heartbeats' answers
};

// True for a task runner's error that a retry at this site would meet again (invalid spec,
// missing data, unsupported request): the agent reports it to the aggregator (UploadHeader
// failure) instead of waiting to be offered the task again.
bool IsDeterministicFailure(const absl::Status& status);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_AGENT_H_
