#include "node/agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/control_egress.h"
#include "node/heartbeat.h"
#include "node/secagg_step.h"
#include "node/stop_watch.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

std::string KindName(v1::TaskKind kind) {
  switch (kind) {
    case v1::TASK_KIND_INIT_MODEL:
      return "init";
    case v1::TASK_KIND_TRAIN:
      return "train";
    case v1::TASK_KIND_EVALUATE:
      return "evaluate";
    case v1::TASK_KIND_ANALYZE:
      return "analyze";
    default:
      return "unknown";
  }
}

bool IsRefusalOfNode(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnauthenticated ||
         s.code() == absl::StatusCode::kPermissionDenied;
}

}  // namespace

bool IsDeterministicFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
      return true;
    default:
      return false;
  }
}

NodeAgent::NodeAgent(protocol::FederationClient* client, TaskGate* gate, TaskLog* log,
                     AgentOptions options)
    : client_(client),
      gate_(gate),
      log_(log),
      options_(std::move(options)),
      retrier_({options_.clock, options_.initial_backoff, options_.max_backoff,
                options_.attempts_per_call, options_.jitter_seed},
               &cancelled_) {}

absl::Status NodeAgent::RegisterWithRetry() {
  v1::RegisterRequest request;
  request.set_protocol_version(v1::PROTOCOL_VERSION_2);
  request.set_node_version(options_.node_version);
  request.set_device(options_.device);
  // In the ledger before it leaves (node/control_egress.h); its bytes count every attempt.
  SCV_ASSIGN_OR_RETURN(const std::string fields, RegisterSummaryJson(request));
  const uint64_t size = request.ByteSizeLong();
  SCV_ASSIGN_OR_RETURN(const int64_t ledgered,
                       gate_->RecordControl(kRegisterEntry, "", size, fields));
  int attempts = 0;
  const auto ledger = [&](const std::string& state, const std::string& what) {
    gate_->CompleteControl(ledgered, size * attempts, fields, state,
                           absl::StrCat(what, " (", attempts, " attempt(s))"));
  };
  for (int attempt = 0; !cancelled_; ++attempt) {
    const absl::Time sent = options_.clock->Now();
    ++attempts;
    absl::StatusOr<v1::RegisterResponse> response = client_->Register(request);
    if (response.ok()) {
      clock_skew_.Observe("Register", response->server_time_unix_ms(), sent, options_.clock->Now());
      heartbeat_ = absl::Seconds(response->heartbeat_s());
      spdlog::info("registered with the aggregator {} as site '{}' (wire protocol {})",
                   response->aggregator_version(), response->site_id(),
                   static_cast<int>(response->protocol_version()));
      ledger("sent", absl::StrCat("registered as site '", response->site_id(), "', aggregator ",
                                  response->aggregator_version()));
      return absl::OkStatus();
    }
    if (!IsTransient(response.status())) {
      ledger("failed", absl::StrCat("refused: ", response.status().message()));
      return response.status();
    }
    spdlog::warn("aggregator unreachable ({}); retrying", std::string(response.status().message()));
    retrier_.Backoff(attempt);
  }
  ledger("failed", "the node stopped before the aggregator answered");
  return absl::CancelledError("cancelled");
}

absl::Status NodeAgent::Upload(const Release& release, absl::string_view note) {
  const protocol::TensorSet* weights = release.weights ? &*release.weights : nullptr;
  absl::StatusOr<v1::UploadResponse> response =
      retrier_.Call("upload", [&] { return client_->UploadResult(release.header, weights); });
  const std::string state =
      response.ok() ? (response->duplicate() ? "duplicate" : "sent") : "failed";
  const std::string answer =
      response.ok() ? response->message() : std::string(response.status().message());
  gate_->MarkOutcome(release, state,
                     note.empty() || answer.empty() ? absl::StrCat(note, answer)
                                                    : absl::StrCat(note, "; ", answer));
  if (options_.keeper != nullptr && (response.ok() || !IsTransient(response.status()))) {
    absl::Status dropped = options_.keeper->Drop(release.header.task_id());
    if (!dropped.ok()) spdlog::warn("{}", std::string(dropped.message()));
  }
  return response.status();
}

std::optional<Release> NodeAgent::FindKept(const std::string& task_id) {
  if (options_.keeper == nullptr) return std::nullopt;
  absl::StatusOr<std::optional<Release>> kept = options_.keeper->Find(task_id);
  if (kept.ok()) return std::move(kept).value();
  spdlog::warn("task '{}': the kept result is damaged ({}); the task runs again", task_id,
               std::string(kept.status().message()));
  options_.keeper->Drop(task_id).IgnoreError();
  return std::nullopt;
}

void NodeAgent::Finish(TaskLogEntry* entry, const std::string& state, const absl::Status& status) {
  entry->state = state;
  entry->finished_unix = absl::ToUnixSeconds(options_.clock->Now());
  entry->detail = std::string(status.message());
  if (log_ != nullptr) log_->Upsert(*entry).IgnoreError();
}

absl::StatusOr<NodeAgent::Step> NodeAgent::Deliver(const Release& release, TaskLogEntry* entry) {
  absl::Status uploaded = Upload(release);
  if (!uploaded.ok()) {
    Finish(entry, IsTransient(uploaded) ? "failed" : "refused", uploaded);
    if (IsTransient(uploaded)) return uploaded;
    spdlog::error("result of task '{}' refused: {}", entry->task_id,
                  std::string(uploaded.message()));
    return Step::kTaskFailed;
  }
  return Completed(release, entry);
}

NodeAgent::Step NodeAgent::Completed(const Release& release, TaskLogEntry* entry) {
  Finish(entry, "uploaded", absl::OkStatus());
  ++tasks_completed_;
  std::string summary;
  for (const auto& [k, v] : release.header.metrics()) absl::StrAppend(&summary, " ", k, "=", v);
  spdlog::info("task '{}' done: n={}{}", entry->task_id, release.header.num_samples(), summary);
  return Step::kRanTask;
}

absl::StatusOr<NodeAgent::Step> NodeAgent::DeliverMasked(const v1::Task& task,
                                                         const SecAggSettings& settings,
                                                         const protocol::TensorSet* global,
                                                         const Release& release,
                                                         TaskLogEntry* entry) {
  SecAggStep::Outcome run;
  bool upload_tried = false;
  absl::StatusOr<SecAggPayload> payload =
      SecAggPayloadOf(task, global, release.header, release.weights);
  if (payload.ok() && payload->in_clear) {
    // An analysis's refusal: no numbers to sum, sent as released (the site takes no part in
    // the round's session).
    return Deliver(release, entry);
  }
  if (!payload.ok()) {
    run.status = payload.status();
  } else if (options_.secagg.key_pem.empty()) {
    run.status = absl::FailedPreconditionError(
        absl::StrCat("secure aggregation, task '", task.task_id(), "': this node has no site key"));
  } else {
    SecAggStep step(client_, &retrier_, options_.secagg);
    run = step.Run(task, settings, *payload, release, [&](const Release& masked) {
      upload_tried = true;
      // The ledger records what leaves: the masked tensors and the header in clear (the plain
      // entry is withheld).
      SCV_ASSIGN_OR_RETURN(Release recorded,
                           gate_->RecordMasked(task, release, masked.header, *masked.weights));
      return Upload(recorded, "masked under secure aggregation (the plain result was not sent)");
    });
  }
  if (run.uploaded) {
    if (!run.status.ok()) {
      spdlog::warn("task '{}': the masked update was accepted, but unmasking failed: {}",
                   task.task_id(), std::string(run.status.message()));
    }
    return Completed(release, entry);
  }
  // The plain release was never sent (Upload marked a refused masked upload itself).
  if (!upload_tried) {
    gate_->MarkOutcome(release, "failed", absl::StrCat("not sent: ", run.status.message()));
  }
  if (IsTransient(run.status)) {
    spdlog::error("task '{}' failed: {}", task.task_id(), std::string(run.status.message()));
    Finish(entry, "failed", run.status);
    return run.status;
  }
  secagg_ended_.insert(task.task_id());
  // Reported (a failure code only), so that the round's masking does not wait for this site
  // until its deadline.
  return FailedLocally(task, run.status, entry);
}

void NodeAgent::ReportDecisions() {
  absl::StatusOr<std::vector<ApprovalRecord>> unreported = gate_->UnreportedDecisions();
  if (!unreported.ok()) {
    spdlog::error("{}", std::string(unreported.status().message()));
    return;
  }
  for (const ApprovalRecord& r : *unreported) {
    v1::StudyDecision d;
    d.set_study_id(r.study_id);
    d.set_spec_sha256(r.spec_sha256);
    d.set_state(r.decision == Decision::kApproved ? v1::DECISION_STATE_APPROVED
                : r.decision == Decision::kDenied ? v1::DECISION_STATE_DENIED
                                                  : v1::DECISION_STATE_PENDING);
    d.set_decided_by(r.decided_by);
    d.set_reason(r.reason);
    d.set_decided_unix(r.decided_unix);
    // In the ledger before it leaves (node/control_egress.h), whatever it says.
    absl::StatusOr<std::string> fields = DecisionSummaryJson(d);
    absl::StatusOr<int64_t> ledgered =
        fields.ok() ? gate_->RecordControl(kDecisionEntry, "", d.ByteSizeLong(), *fields)
                    : absl::StatusOr<int64_t>(fields.status());
    if (!ledgered.ok()) {  // not recorded: not sent
      spdlog::error("study '{}': the decision report was not sent: {}", r.study_id,
                    std::string(ledgered.status().message()));
      continue;
    }
    absl::StatusOr<v1::DecisionAck> ack =
        retrier_.Call("report decision", [&] { return client_->ReportDecision(d); });
    gate_->CompleteControl(*ledgered, d.ByteSizeLong(), *fields, ack.ok() ? "sent" : "failed",
                           ack.ok() ? "acknowledged"
                                    : absl::StrCat("not acknowledged: ", ack.status().message(),
                                                   " (reported again later)"));
    if (!ack.ok()) {
      spdlog::warn("study '{}': the site's decision could not be reported: {}", r.study_id,
                   std::string(ack.status().message()));
      continue;
    }
    gate_->MarkReported(r);
    spdlog::info("study '{}': reported to the aggregator as {}{}", r.study_id,
                 DecisionName(r.decision),
                 r.decision == Decision::kPending ? " (scancov-node pending lists it)" : "");
  }
}

NodeAgent::Step NodeAgent::FailedLocally(const v1::Task& task, const absl::Status& why,
                                         TaskLogEntry* entry) {
  spdlog::error("task '{}' failed locally: {}", task.task_id(), std::string(why.message()));
  Finish(entry, "failed", why);
  // A task that cannot succeed here (bad spec, missing data: it would fail the same way on
  // every retry) is reported, so that the round does not wait for this site until its
  // deadline; other errors (a full disk, an interrupted run) are retried when the aggregator
  // offers the task again. Only a failure code and the policy's numbers leave
  // (protocol/failure_code.h); the message stays in the task log for the steward.
  if (!IsDeterministicFailure(why)) return Step::kTaskFailed;
  absl::StatusOr<Release> failure = gate_->Failure(task, why);
  absl::Status reported = failure.ok() ? Upload(*failure) : failure.status();
  if (!reported.ok()) {
    spdlog::warn("task '{}': the failure could not be reported: {}", task.task_id(),
                 std::string(reported.message()));
  }
  return Step::kTaskFailed;
}

absl::StatusOr<NodeAgent::Step> NodeAgent::RunTask(const v1::Task& task) {
  if (secagg_ended_.count(task.task_id()) > 0) {
    // Offered again while the aggregator moves on: training again would only spend the site's
    // DP budget on a session it will refuse again.
    spdlog::debug("task '{}': its secure aggregation ended at this site", task.task_id());
    return Step::kTaskFailed;
  }
  // Nothing runs before the site has approved the study (node/approvals.h).
  absl::StatusOr<ApprovalRecord> approval = gate_->Approval(task);
  if (approval.ok() && approval->decision != Decision::kApproved) {
    ReportDecisions();
    return Step::kAwaitingApproval;
  }
  TaskLogEntry entry{task.task_id(),
                     KindName(task.kind()),
                     "running",
                     absl::ToUnixSeconds(options_.clock->Now()),
                     0,
                     ""};
  if (log_ != nullptr) log_->Upsert(entry).IgnoreError();
  if (std::optional<Release> kept = FindKept(task.task_id())) {
    spdlog::info("task '{}' ({}): sending the result kept from an earlier attempt", task.task_id(),
                 entry.kind);
    return Deliver(*kept, &entry);
  }
  spdlog::info("task '{}' ({}) started{}", task.task_id(), entry.kind,
               task.deadline_unix() > 0
                   ? absl::StrCat("; the round closes without it after ",
                                  absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                                   absl::FromUnixSeconds(task.deadline_unix()),
                                                   absl::UTCTimeZone()))
                   : "");
  // The aggregator hears that this node is alive and how far the task has come while it runs;
  // when it answers that the task no longer counts, the heartbeat cancels `progress` and the
  // task stops at its next check.
  Progress progress(options_.clock);
  progress.SetStage(entry.kind == "train" ? "training" : entry.kind);
  progress.PrintEvery(absl::Minutes(1), [id = task.task_id()](const std::string& line) {
    spdlog::info("task '{}': {}", id, line);  // the steward's log: counts, rate, ETA
  });
  // Every beat is in the ledger: an entry before the first leaves, amended with their sum when
  // the task ends, whichever way it ends (node/control_egress.h).
  HeartbeatTally beats;
  int64_t beats_entry = 0;
  if (heartbeat_ > absl::ZeroDuration()) {
    absl::StatusOr<int64_t> recorded = gate_->RecordControl(kHeartbeatEntry, task.task_id(), 0,
                                                            HeartbeatSummaryJson({}, heartbeat_));
    if (!recorded.ok()) {  // nothing leaves without an entry: not even a beat
      Finish(&entry, "failed", recorded.status());
      return recorded.status();
    }
    beats_entry = *recorded;
  }
  absl::StatusOr<Step> step;
  {
    HeartbeatLoop heartbeat(client_, task.task_id(), heartbeat_, &clock_skew_, options_.clock,
                            &progress, &beats);
    StopWatch stop_watch(&cancelled_, options_.stop_grace, options_.clock, &progress);
    step = RunWhileBeating(task, progress, &entry);
  }  // the heartbeat's thread has ended: no beat leaves after this
  const HeartbeatSummary sum = beats.Summary();
  gate_->CompleteControl(beats_entry, sum.bytes, HeartbeatSummaryJson(sum, heartbeat_),
                         HeartbeatState(sum), HeartbeatDetail(sum));
  return step;
}

absl::StatusOr<NodeAgent::Step> NodeAgent::RunWhileBeating(const v1::Task& task, Progress& progress,
                                                           TaskLogEntry* entry) {
  std::optional<protocol::TensorSet> global;
  if (!task.checkpoint_id().empty()) {
    absl::StatusOr<protocol::TensorSet> downloaded = retrier_.Call(
        "download", [&] { return client_->DownloadWeights(task.task_id(), task.checkpoint_id()); });
    if (!downloaded.ok()) {
      Finish(entry, "failed", downloaded.status());
      return downloaded.status();
    }
    global = std::move(*downloaded);
  }
  // A study under secure aggregation whose options do not parse fails like a bad spec.
  const absl::StatusOr<std::optional<SecAggSettings>> secagg = TaskSecAggSettings(task);
  absl::StatusOr<Release> outcome =
      secagg.ok() ? gate_->Run(task, global ? &*global : nullptr, &progress) : secagg.status();
  if (!outcome.ok() && progress.cancelled()) {
    // Nothing is sent, not even a failure code: the aggregator would refuse it, and the round
    // or study it served is over. The gate recorded nothing in the ledger; the task's beats
    // are (RunTask).
    spdlog::warn("task '{}' stopped: {}", task.task_id(), progress.cancel_reason());
    Finish(entry, "stopped", absl::CancelledError(progress.cancel_reason()));
    return Step::kTaskStopped;
  }
  if (!outcome.ok()) return FailedLocally(task, outcome.status(), entry);
  if (secagg->has_value()) {
    // Never kept: the round's keys die with this process, so a restarted node is a dropout.
    return DeliverMasked(task, **secagg, global ? &*global : nullptr, *outcome, entry);
  }
  if (options_.keeper != nullptr) {
    // Without it the result is only computed again: worth a warning, not the task.
    absl::Status kept = options_.keeper->Keep(*outcome);
    if (!kept.ok()) spdlog::warn("task '{}': {}", task.task_id(), std::string(kept.message()));
  }
  return Deliver(*outcome, entry);
}

absl::StatusOr<NodeAgent::Step> NodeAgent::RunOnce() {
  ReportDecisions();
  SCV_ASSIGN_OR_RETURN(v1::PullTaskResponse action,
                       retrier_.Call("pull", [&] { return client_->PullTask(); }));
  if (action.has_stop()) {
    spdlog::info("aggregator says stop: {}", action.stop().reason());
    return Step::kStopped;
  }
  if (action.has_task()) return RunTask(action.task());
  const absl::Duration wait = absl::Milliseconds(std::max<uint32_t>(50, action.wait().wait_ms()));
  spdlog::debug("waiting {}: {}", absl::FormatDuration(wait), action.wait().reason());
  if (action.wait().idle() && options_.keeper != nullptr) {
    // No running study includes the site: no kept result can be asked for again.
    options_.keeper->DropAll().IgnoreError();
  }
  retrier_.SleepUnlessCancelled(wait);
  return action.wait().idle() ? Step::kIdle : Step::kWaited;
}

absl::Status NodeAgent::Run() {
  if (options_.keeper != nullptr) {
    absl::StatusOr<int> dropped =
        options_.keeper->DropOlderThan(options_.clock->Now() - options_.keep_results_for);
    if (dropped.ok() && *dropped > 0) {
      spdlog::info("dropped {} kept result(s) the aggregator never asked for again", *dropped);
    }
  }
  absl::StatusOr<int> interrupted = gate_->MarkInterruptedControl();
  if (!interrupted.ok()) return interrupted.status();  // the ledger is unusable: nothing may leave
  if (*interrupted > 0) {
    spdlog::warn(
        "the node last stopped while sending; {} ledger entries (heartbeats of a running task, "
        "a registration) are now marked 'interrupted' (`scancov-node ledger`)",
        *interrupted);
  }
  absl::Status registered = RegisterWithRetry();
  if (cancelled_) return absl::OkStatus();  // stopped (SIGTERM) before registering: a clean stop
  SCV_RETURN_IF_ERROR(registered);
  int idle_polls = 0;
  int failures = 0;
  while (!cancelled_) {
    absl::StatusOr<Step> step = RunOnce();
    if (!step.ok()) {
      if (IsRefusalOfNode(step.status())) return step.status();
      spdlog::warn("{}", std::string(step.status().message()));
      retrier_.Backoff(++failures);
      continue;
    }
    if (*step == Step::kStopped) return absl::OkStatus();
    if (*step == Step::kTaskFailed) {
      retrier_.Backoff(++failures);
      continue;
    }
    failures = 0;
    idle_polls = *step == Step::kIdle ? idle_polls + 1 : 0;
    if (options_.exit_when_idle && idle_polls >= options_.idle_polls_before_exit) {
      spdlog::info("no running study includes this site; exiting (--exit-when-idle)");
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace scancov::node
