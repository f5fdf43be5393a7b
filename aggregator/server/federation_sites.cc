// Federation: what the sites call (register, pull a task, download its weights, upload a
// result or a failure, report a study decision). The round mechanics are in federation.cc, the
// coordinator's calls in federation_coordinator.cc.
#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"
#include "protocol/failure_code.h"
#include "protocol/ids.h"
#include "protocol/study_kind.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

bool Includes(const v1::StudySpec& spec, const std::string& site) {
  return std::find(spec.sites().begin(), spec.sites().end(), site) != spec.sites().end() ||
         std::find(spec.evaluation_sites().begin(), spec.evaluation_sites().end(), site) !=
             spec.evaluation_sites().end();
}

bool IsTrainingSite(const v1::StudySpec& spec, const std::string& site) {
  return std::find(spec.sites().begin(), spec.sites().end(), site) != spec.sites().end();
}

}  // namespace

absl::StatusOr<v1::RegisterResponse> Federation::Register(const Caller& caller,
                                                          const v1::RegisterRequest& request) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  // Served: versions 1 and 2 (a version-1 node polls, uploads whole, sends no heartbeat).
  if (request.protocol_version() != v1::PROTOCOL_VERSION_1 &&
      request.protocol_version() != v1::PROTOCOL_VERSION_2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "protocol version ", request.protocol_version(),
        request.protocol_version() == 0 ? " (unset: a node older than the versioned protocol)" : "",
        " is not served; this aggregator (", options_.aggregator_version,
        ") serves versions 1 and 2: ",
        request.protocol_version() > v1::PROTOCOL_VERSION_2 ? "upgrade the aggregator"
                                                            : "upgrade the node"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(caller.id));
  site->last_seen_unix = NowUnix();
  site->node_version = request.node_version();
  site->device = request.device();
  SCV_RETURN_IF_ERROR(store_->UpsertSite(*site));
  Audit(caller, "register", "", caller.id, {},
        absl::StrCat("node ", request.node_version(), ", ", request.device()));
  spdlog::info("site '{}' registered (node {}, {})", caller.id, request.node_version(),
               request.device());
  v1::RegisterResponse response;
  response.set_site_id(caller.id);
  response.set_protocol_version(request.protocol_version());
  response.set_aggregator_version(options_.aggregator_version);
  response.set_heartbeat_s(
      static_cast<uint32_t>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.heartbeat))));
  response.set_server_time_unix_ms(NowUnixMillis());
  return response;
}

absl::StatusOr<v1::ServerTimeResponse> Federation::ServerTime(const Caller& caller) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  v1::ServerTimeResponse response;
  response.set_server_time_unix_ms(NowUnixMillis());
  return response;
}

absl::StatusOr<std::optional<v1::Task>> Federation::NextTaskFor(const std::string& site_id,
                                                                const StudyRecord& study) {
  SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                       store_->ListTasks(study.study_id, study.current_round));
  for (TaskRecord& t : tasks) {
    const bool mine = t.site_id == site_id && (t.state == kTaskPending || t.state == kTaskIssued);
    const bool claimable = t.site_id.empty() && t.state == kTaskPending;
    if (!mine && !claimable) continue;
    if (t.state == kTaskPending) {
      t.site_id = site_id;
      t.state = kTaskIssued;
      t.issued_unix = NowUnix();
      SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      Audit("site", site_id, "task_issued", study.study_id, site_id, {t.task_id},
            absl::StrCat("round ", t.round, ", ", v1::TaskKind_Name(t.kind)));
    }
    v1::Task task;
    task.set_task_id(t.task_id);
    task.set_study_id(t.study_id);
    task.set_round(t.round);
    task.set_kind(t.kind);
    task.set_checkpoint_id(t.checkpoint_id);
    *task.mutable_plan() = study.spec.plan();
    task.set_spec_json(study.spec.spec_json());
    task.set_held_out_site(!IsTrainingSite(study.spec, site_id));
    task.set_study_kind(study.spec.study_kind());
    task.set_privacy_json(study.spec.privacy_json());
    SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study.study_id));
    if (!rounds.empty()) task.set_deadline_unix(rounds.back().deadline_unix);
    return std::optional<v1::Task>(std::move(task));
  }
  return std::optional<v1::Task>();
}

absl::StatusOr<v1::PullTaskResponse> Federation::PullTask(const Caller& caller,
                                                          const v1::PullTaskRequest& request) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  const absl::Duration hold =
      std::min(absl::Milliseconds(request.max_wait_ms()), options_.max_long_poll);
  const absl::Time until = absl::Now() + hold;  // real time: the call is held on a real clock
  for (;;) {
    const uint64_t seen = generation_;
    bool awaits_own_approval = false;
    SCV_ASSIGN_OR_RETURN(v1::PullTaskResponse response,
                         PullTaskLocked(caller, &awaits_own_approval));
    // Held only while the site waits for the others. An idle site (no running study includes
    // it) is answered at once: it polls at its own pace, and a node told to exit when idle is
    // not held; so is a site whose own steward has yet to decide (the change comes from the
    // node, which reports it before its next pull).
    if (!response.has_wait() || response.wait().idle() || awaits_own_approval ||
        absl::Now() >= until) {
      return response;
    }
    // Long poll: hold the call until something a site may want changes, or the time is up.
    auto changed = [this, seen]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return generation_ != seen; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&changed), until)) {
      response.mutable_wait()->set_wait_ms(0);  // the node may ask again at once
      return response;
    }
  }
}

absl::StatusOr<v1::PullTaskResponse> Federation::PullTaskLocked(const Caller& caller,
                                                                bool* awaits_own_approval) {
  SCV_RETURN_IF_ERROR(TickLocked());
  liveness_[caller.id].activity = "waiting for a task";
  v1::PullTaskResponse response;
  if (draining_) {
    response.mutable_stop()->set_reason("the aggregator is shutting down");
    return response;
  }
  SCV_ASSIGN_OR_RETURN(std::vector<StudyRecord> studies, store_->ListStudies());
  std::string waiting_for;
  for (const StudyRecord& study : studies) {
    if (study.state != v1::STUDY_STATE_RUNNING || !Includes(study.spec, caller.id)) continue;
    SCV_ASSIGN_OR_RETURN(std::optional<v1::StudyDecision> decision,
                         store_->trust().GetDecision(study.study_id, caller.id));
    if (decision && decision->state() == v1::DECISION_STATE_DENIED) continue;
    if (decision && decision->state() == v1::DECISION_STATE_PENDING) {
      *awaits_own_approval = true;
      if (waiting_for.empty()) {
        waiting_for = absl::StrCat("study '", study.study_id, "' awaits this site's approval");
      }
      continue;
    }
    std::optional<v1::Task> task;
    SCV_RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
      SCV_ASSIGN_OR_RETURN(task, NextTaskFor(caller.id, study));
      return absl::OkStatus();
    }));
    if (task) {
      spdlog::info("task '{}' issued to site '{}'", task->task_id(), caller.id);
      liveness_[caller.id].activity = absl::StrCat("task '", task->task_id(), "'");
      *response.mutable_task() = std::move(*task);
      return response;
    }
    if (waiting_for.empty()) {
      waiting_for = absl::StrCat("study '", study.study_id, "' round ", study.current_round,
                                 ": waiting for other sites");
    }
  }
  response.mutable_wait()->set_wait_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.wait)));
  response.mutable_wait()->set_idle(waiting_for.empty());
  response.mutable_wait()->set_reason(waiting_for.empty() ? "no running study includes this site"
                                                          : waiting_for);
  return response;
}

absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> Federation::TaskCheckpoint(
    const Caller& caller, const std::string& task_id, const std::string& checkpoint_id) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(task_id));
  if (!task) return absl::NotFoundError(absl::StrCat("task '", task_id, "' does not exist"));
  if (task->site_id != caller.id) {
    return absl::PermissionDeniedError(
        absl::StrCat("task '", task_id, "' was not given to site '", caller.id, "'"));
  }
  if (task->checkpoint_id.empty() ||
      (!checkpoint_id.empty() && checkpoint_id != task->checkpoint_id)) {
    return absl::InvalidArgumentError(absl::StrCat("task '", task_id, "' uses checkpoint '",
                                                   task->checkpoint_id, "', not '", checkpoint_id,
                                                   "'"));
  }
  Audit(caller, "checkpoint_sent", task->study_id, caller.id, {task_id}, task->checkpoint_id);
  return CachedCheckpoint(task->checkpoint_id);
}

absl::StatusOr<protocol::TensorSet> Federation::TaskWeights(const Caller& caller,
                                                            const std::string& task_id,
                                                            const std::string& checkpoint_id) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> checkpoint,
                       TaskCheckpoint(caller, task_id, checkpoint_id));
  return checkpoint->Decode();
}

absl::StatusOr<v1::HeartbeatResponse> Federation::Heartbeat(const Caller& caller,
                                                            const v1::HeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  v1::HeartbeatResponse response;
  response.set_server_time_unix_ms(NowUnixMillis());
  Liveness& live = liveness_[caller.id];
  if (request.task_id().empty()) {
    live.activity = "idle";
    return response;
  }
  SCV_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, store_->GetTask(request.task_id()));
  if (!task || task->site_id != caller.id) {
    return absl::NotFoundError(
        absl::StrCat("task '", request.task_id(), "' is not a task of site '", caller.id, "'"));
  }
  live.task_id = task->task_id;
  // The stage is the node's words about its own progress; bounded, never patient data.
  live.activity =
      absl::StrCat("task '", task->task_id, "'",
                   request.stage().empty() ? "" : ": " + request.stage().substr(0, 80),
                   request.progress() > 0 && request.progress() <= 1
                       ? absl::StrCat(" (", static_cast<int>(request.progress() * 100), "%)")
                       : "");
  response.set_task_current(task->state == kTaskIssued);
  return response;
}

absl::StatusOr<v1::DecisionAck> Federation::ReportDecision(const Caller& caller,
                                                           const v1::StudyDecision& decision) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireSite(caller));
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(decision.study_id()));
  if (!study || !Includes(study->spec, caller.id)) {
    return absl::NotFoundError(
        absl::StrCat("study '", decision.study_id(), "' does not include site '", caller.id, "'"));
  }
  if (decision.state() != v1::DECISION_STATE_PENDING &&
      decision.state() != v1::DECISION_STATE_APPROVED &&
      decision.state() != v1::DECISION_STATE_DENIED) {
    return absl::InvalidArgumentError("decision: state must be pending, approved or denied");
  }
  v1::StudyDecision d = decision;
  d.set_reason(d.reason().substr(0, 500));
  d.set_decided_by(d.decided_by().substr(0, 100));
  SCV_RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    SCV_RETURN_IF_ERROR(store_->trust().PutDecision(caller.id, d, NowUnix()));
    Changed();
    Audit(caller, "decision_received", d.study_id(), caller.id, {},
          absl::StrCat(v1::DecisionState_Name(d.state()), " by ", d.decided_by(),
                       d.reason().empty() ? "" : ": " + d.reason(), " (spec sha256 ",
                       d.spec_sha256(), ")"));
    if (d.state() != v1::DECISION_STATE_DENIED) return absl::OkStatus();
    // A denial ends the site's part: its open tasks of the study fail with the steward's
    // reason, so the round closes without it or the study fails saying why.
    SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                         store_->ListTasks(study->study_id, study->current_round));
    bool changed = false;
    for (TaskRecord& t : tasks) {
      if (t.site_id != caller.id || (t.state != kTaskIssued && t.state != kTaskPending)) continue;
      t.state = kTaskFailed;
      t.done_unix = NowUnix();
      SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      changed = true;
    }
    if (!changed) return absl::OkStatus();
    study->message = absl::StrCat(caller.id, ": denied by the site",
                                  d.reason().empty() ? "" : ": " + d.reason());
    SCV_RETURN_IF_ERROR(store_->UpdateStudy(*study));
    return MaybeCloseRound(*study, /*deadline_passed=*/false);
  }));
  spdlog::info("site '{}' {} study '{}'", caller.id,
               d.state() == v1::DECISION_STATE_APPROVED ? "approved"
               : d.state() == v1::DECISION_STATE_DENIED ? "denied"
                                                        : "has not yet decided on",
               d.study_id());
  return v1::DecisionAck();
}

}  // namespace scancov::aggregator
