// What the coordinator's live page (`scancov-coord ui`, ui_server.h) shows, as one JSON object
// built from the aggregator's answers through a CoordinatorApi:
//
//   {"now_unix", "aggregator": {"ok", "error", "stale_since_unix"},
//    "sites":    [{"id", "name", "enabled", "online", "last_seen_unix", "device", "version",
//                  "activity"}],
//    "studies":  [{"id", "kind", "state", "current_round", "last_round" (0: open-ended),
//                  "message", "created_unix", "report", "detail", "approvals": [{"site",
//                  "state", "received_unix", "decided_by", "reason"}], "rounds": [{"round",
//                  "label", "state", "checkpoint", "metrics", "submitted", "tasks",
//                  "sites": [{"site", "state", "num_samples"}]}]}],
//    "failures": [{"at_unix", "source", "study", "site", "round", "reason"}],
//    "audit":    {"available", "error"}}
//
// Everything from the aggregator is data: the page inserts it as text, never as markup.
// The progress a site reports (SiteInfo.activity: its task's stage and percentage from its
// heartbeats) is all the protocol carries; there is no byte count of transfers.
//
// Running studies are read on every Snapshot; a finished study's status (its report) is read
// once and kept, so the page does not add an audit entry ("status_read") on every poll, and
// only the kMaxDetailedStudies most recent studies are read in full.
//
// Not thread-safe: one caller at a time (UiServer holds a mutex around it).
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_UI_STATE_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_UI_STATE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "core/env.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// Reads the aggregator's audit log from `after_seq` on (CoordinatorClient::ReadAudit).
using AuditReader = std::function<absl::StatusOr<v1::ReadAuditResponse>(int64_t after_seq)>;

class UiState {
 public:
  static constexpr int kMaxDetailedStudies = 20;
  static constexpr size_t kMaxAuditFailures = 50;

  // `api` (and whatever `read_audit` uses) must outlive this. Without `read_audit` the page
  // says that the audit log is not read.
  UiState(CoordinatorApi* api, AuditReader read_audit, Clock* clock = Clock::Real())
      : api_(api), read_audit_(std::move(read_audit)), clock_(clock) {}

  // The page's state now. When the aggregator cannot be reached, the last state read, with
  // "aggregator.ok" false and the error (the page shows it as a banner).
  nlohmann::json Snapshot();

  // A study's status for its report (the kept one for a finished study).
  absl::StatusOr<v1::StudyStatus> Study(const std::string& study_id);

 private:
  absl::StatusOr<nlohmann::json> Read();
  nlohmann::json StudyJson(const v1::StudyStatus& summary, bool detailed);
  void ReadAudit(nlohmann::json& state);

  CoordinatorApi* api_;
  AuditReader read_audit_;
  Clock* clock_;
  std::map<std::string, v1::StudyStatus> finished_;  // by study id
  nlohmann::json last_;                              // the last state read in full
  int64_t stale_since_unix_ = 0;
  int64_t audit_after_ = -1;                   // -1: not read yet
  std::deque<nlohmann::json> audit_failures_;  // the most recent last
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_UI_STATE_H_
