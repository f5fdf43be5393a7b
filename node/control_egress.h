// The node's own messages in the egress ledger (privacy/egress_ledger.h), beside the results
// the gate records: a Register ("register" entry) and a task's heartbeats ("heartbeat" entry),
// so that `scancov-node ledger` shows everything that left the site.
//
//   register   one entry per registration (NodeAgent::RegisterWithRetry), recorded before the
//              first attempt: every field of the RegisterRequest as it was sent (the protocol
//              version, the node's version, its device); no secret travels in it. The site id
//              is not a field: the aggregator reads it from the certificate (mutual TLS). Its
//              bytes count every attempt; a node killed before an answer leaves it 'pending',
//              marked 'interrupted' at the next start.
//   heartbeat  one entry per task that beat, recorded before the first beat leaves and amended
//              when the task ends, however it ends (done, failed, stopped): how many beats, how
//              many bytes, the distinct stage texts and progress values sent (each beat carries
//              the task id, a stage like "training epoch 2/5, ETA 3m" and its fraction; counts
//              from the plan, never from the site's rows: core/progress.h ReleasedText), and
//              the first and last beat's time. A node killed mid-task leaves its entry
//              'pending'; the next start marks it 'interrupted' (how many beats left is then
//              unknown; the entry says from when and how often).
//   decision   one entry per report of the site's decision on a study (NodeAgent's
//              ReportDecisions): every field of the StudyDecision as sent (the study, its spec's
//              hash, approved / denied / pending, who or which rule decided, the steward's
//              reason as typed, when). A report the aggregator did not acknowledge is 'failed'
//              and sent again later (a new entry); a node killed before the answer leaves it
//              'pending', marked 'interrupted' at the next start.
//
// HeartbeatTally collects the beats on the heartbeat's thread; the agent's thread writes the
// ledger, so the ledger keeps one writer.
#ifndef SCANCOV_NODE_CONTROL_EGRESS_H_
#define SCANCOV_NODE_CONTROL_EGRESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "protocol/scancov.pb.h"

namespace scancov::node {

inline constexpr char kRegisterEntry[] = "register";
inline constexpr char kHeartbeatEntry[] = "heartbeat";
inline constexpr char kDecisionEntry[] = "decision";

// What one task's heartbeats carried out of the site, so far.
struct HeartbeatSummary {
  int64_t beats = 0;   // requests sent (each left the site, or may have)
  int64_t errors = 0;  // of those, the ones answered by an error (sent, perhaps not received)
  uint64_t bytes = 0;  // the requests' serialised sizes, summed
  // The distinct stage texts and progress fractions, in the order first sent; past
  // kMaxListed distinct values, only counted.
  std::vector<std::string> stages;
  int64_t stages_not_listed = 0;
  std::vector<double> progress;
  int64_t progress_not_listed = 0;
  absl::Time first = absl::InfinitePast();  // no beat yet
  absl::Time last = absl::InfinitePast();
};

// Thread safety: Add and Summary may be called from any thread.
class HeartbeatTally {
 public:
  static constexpr size_t kMaxListed = 200;

  // One beat, `request` as it was sent at `sent`; `answered`: the aggregator answered it.
  void Add(const v1::HeartbeatRequest& request, absl::Time sent, bool answered);
  HeartbeatSummary Summary() const;

 private:
  mutable absl::Mutex mu_;
  HeartbeatSummary summary_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> stages_seen_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<double> progress_seen_ ABSL_GUARDED_BY(mu_);
};

// The ledger's record of a task's beats (its summary_json): {"fields": ["task_id", "stage",
// "progress"], "interval_s", "beats", "errors", "bytes", "first_unix", "last_unix" (null before
// the first beat), "stages": [...], "stages_not_listed", "progress": [...],
// "progress_not_listed"}.
std::string HeartbeatSummaryJson(const HeartbeatSummary& summary, absl::Duration interval);
// The entry's state and detail once the task ended: "sent" when the aggregator answered a
// beat, "failed" otherwise.
std::string HeartbeatState(const HeartbeatSummary& summary);
std::string HeartbeatDetail(const HeartbeatSummary& summary);

// The ledger's record of a Register: every field of `request`, by its proto name, as JSON
// (enums by name), so that a field added later is recorded without a change here.
absl::StatusOr<std::string> RegisterSummaryJson(const v1::RegisterRequest& request);
// The same for a decision report.
absl::StatusOr<std::string> DecisionSummaryJson(const v1::StudyDecision& decision);

// One line for a person (`scancov-node ledger`) of a heartbeat's, register's or decision's
// summary_json;
// "" for another kind or a summary that does not parse.
std::string ControlEntryText(const std::string& kind, const std::string& summary_json);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CONTROL_EGRESS_H_
