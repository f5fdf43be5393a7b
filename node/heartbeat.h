// HeartbeatLoop: while a task runs, tells the aggregator every `interval` that this node is
// alive and working on it (protocol 2, Heartbeat RPC), so that a round waits for a site that is
// training and does not wait for one that died. It sends only the task id and a stage in the
// node's own words (never patient data): with a Progress (core/progress.h), its text and
// fraction, counts only ("training epoch 2/5, batch 40/120, ETA 3m").
//
// An aggregator that does not know Heartbeat (protocol 1) is not asked again; other failures
// are logged once and retried at the next beat. When the aggregator answers that the task no
// longer counts (its round closed, it expired, or its study was aborted), task_current() turns
// false and the Progress is cancelled with that reason: the task stops at its next check. With a
// ClockSkewWatch, every answer's server time is compared with `clock` (node/clock_skew.h), which
// warns once when this node's clock is off.
//
// With a HeartbeatTally (node/control_egress.h), every beat sent is added to it, answered or
// not, for the egress ledger's entry of the task's beats.
//
// Thread safety: the loop runs on its own thread; set_stage and task_current may be called from
// any thread. The client must tolerate calls from that thread while the owner is blocked in the
// task (GrpcFederationClient and InProcessFederationClient do).
#ifndef SCANCOV_NODE_HEARTBEAT_H_
#define SCANCOV_NODE_HEARTBEAT_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/env.h"
#include "core/progress.h"
#include "node/clock_skew.h"
#include "node/control_egress.h"
#include "protocol/federation_client.h"

namespace scancov::node {

class HeartbeatLoop {
 public:
  // Starts beating at once; an interval <= 0 sends nothing. `watch` (may be null: not
  // measured), `clock`, `progress` (may be null: the stage of set_stage is sent) and `tally`
  // (may be null: not counted) must outlive the loop.
  HeartbeatLoop(protocol::FederationClient* client, std::string task_id, absl::Duration interval,
                ClockSkewWatch* watch = nullptr, Clock* clock = Clock::Real(),
                Progress* progress = nullptr, HeartbeatTally* tally = nullptr);
  ~HeartbeatLoop();  // stops and joins
  HeartbeatLoop(const HeartbeatLoop&) = delete;
  HeartbeatLoop& operator=(const HeartbeatLoop&) = delete;

  // What is sent while the Progress has no text (or without one).
  void set_stage(std::string stage, double progress = 0);
  bool task_current() const { return current_; }
  int beats_sent() const { return sent_; }

 private:
  void Run();

  protocol::FederationClient* client_;
  const std::string task_id_;
  const absl::Duration interval_;
  ClockSkewWatch* watch_;
  Clock* clock_;
  Progress* task_progress_;
  HeartbeatTally* tally_;
  absl::Mutex mu_;
  std::string stage_ ABSL_GUARDED_BY(mu_);
  double progress_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> current_{true};
  std::atomic<int> sent_{0};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_HEARTBEAT_H_
