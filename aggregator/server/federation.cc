#include "aggregator/server/federation.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "protocol/failure_code.h"
#include "protocol/ids.h"
#include "protocol/study_kind.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
std::string CheckpointId(const std::string& study_id, uint32_t round) {
  return absl::StrCat(study_id, "/c", round);
}

namespace {

std::string Ago(int64_t now, int64_t then) {
  if (then == 0) return "never heard from";
  return absl::StrCat("last heard from ", now - then, " s ago");
}

}  // namespace

Federation::Federation(std::unique_ptr<AggregatorStore> store, FederationOptions options,
                       std::unique_ptr<UploadSpool> spool)
    : options_(std::move(options)),
      store_(std::move(store)),
      secagg_(options_.secagg_phase_wait),
      spool_(std::move(spool)) {
  // Uploads of rounds aggregated before a crash that came between the commit and the deletion.
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<std::string>> orphans = store_->PruneResultWeights("", std::nullopt);
  if (!orphans.ok()) {
    spdlog::error("cannot sweep aggregated uploads: {}", std::string(orphans.status().message()));
    return;
  }
  for (const std::string& path : *orphans) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
}

int64_t Federation::NowUnix() { return absl::ToUnixSeconds(options_.clock->Now()); }

int64_t Federation::NowUnixMillis() { return absl::ToUnixMillis(options_.clock->Now()); }

absl::StatusOr<const StudyLogic*> Federation::LogicFor(const StudyRecord& study) {
  auto it = logics_.find(study.study_id);
  if (it != logics_.end()) return it->second.get();
  if (options_.studies == nullptr) {
    return absl::FailedPreconditionError("this aggregator was started without study kinds");
  }
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<StudyLogic> logic, options_.studies->Create(study.spec));
  const StudyLogic* raw = logic.get();
  logics_[study.study_id] = std::move(logic);
  return raw;
}

namespace {

const char* RoleName(Caller::Role role) {
  return role == Caller::Role::kSite ? "site" : "coordinator";
}

}  // namespace

void Federation::Audit(const std::string& role, const std::string& actor, const std::string& action,
                       const std::string& study_id, const std::string& site_id,
                       std::vector<std::string> task_ids, const std::string& detail) {
  v1::AuditEntry e;
  e.set_at_unix(NowUnix());
  e.set_actor_role(role);
  e.set_actor_id(actor);
  e.set_action(action);
  e.set_study_id(study_id);
  e.set_site_id(site_id);
  for (std::string& t : task_ids) e.add_task_ids(std::move(t));
  e.set_detail(detail.substr(0, 1000));
  absl::StatusOr<v1::AuditEntry> appended = store_->audit().Append(std::move(e));
  if (!appended.ok()) {
    spdlog::error("cannot append to the audit log: {}", std::string(appended.status().message()));
  }
}

void Federation::Audit(const Caller& caller, const std::string& action, const std::string& study_id,
                       const std::string& site_id, std::vector<std::string> task_ids,
                       const std::string& detail) {
  Audit(RoleName(caller.role), caller.id, action, study_id, site_id, std::move(task_ids), detail);
}

void Federation::RecordRefusal(const Caller& caller, const std::string& what,
                               const absl::Status& why) {
  absl::MutexLock lock(&mu_);
  spdlog::warn("refused {} from {} '{}': {}", what, RoleName(caller.role), caller.id,
               std::string(why.message()));
  Audit(caller, "refused", "", caller.role == Caller::Role::kSite ? caller.id : "", {},
        absl::StrCat(what, ": ", why.message()));
}

absl::Status Federation::RequireSite(const Caller& caller) {
  if (caller.role != Caller::Role::kSite) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller.id,
                     "' holds a coordinator certificate; node calls need a site "
                     "certificate"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(caller.id));
  if (!site) {
    return absl::PermissionDeniedError(
        absl::StrCat("site '", caller.id, "' is not enrolled in this consortium"));
  }
  if (!site->enabled) {
    return absl::PermissionDeniedError(absl::StrCat("site '", caller.id, "' is disabled"));
  }
  Liveness& live = liveness_[caller.id];
  live.last_seen_unix = NowUnix();
  live.dirty = true;
  return absl::OkStatus();
}

void Federation::AbsorbSightings() {
  absl::MutexLock lock(&sightings_mu_);
  for (const auto& [site_id, seen] : sightings_) {
    Liveness& live = liveness_[site_id];
    if (seen <= live.last_seen_unix) continue;
    live.last_seen_unix = seen;
    live.dirty = true;
  }
  sightings_.clear();
}

bool Federation::Online(const std::string& site_id) {
  AbsorbSightings();
  auto it = liveness_.find(site_id);
  return it != liveness_.end() &&
         NowUnix() - it->second.last_seen_unix <= absl::ToInt64Seconds(options_.offline_after);
}

absl::Status Federation::RequireCoordinator(const Caller& caller) {
  if (caller.role != Caller::Role::kCoordinator) {
    return absl::PermissionDeniedError(absl::StrCat(
        "site '", caller.id, "' may not call coordinator RPCs (coordinator certificate required)"));
  }
  SCV_ASSIGN_OR_RETURN(const bool enabled,
                       store_->trust().IdentityEnabled("coordinator", caller.id));
  if (!enabled) {
    return absl::PermissionDeniedError(
        absl::StrCat("coordinator '", caller.id, "' is disabled in this consortium"));
  }
  return absl::OkStatus();
}

absl::Status Federation::OpenRound(StudyRecord& study, uint32_t round,
                                   const std::string& input_checkpoint) {
  RoundRecord r;
  r.study_id = study.study_id;
  r.round = round;
  r.state = kRoundOpen;
  r.opened_unix = NowUnix();
  r.deadline_unix = r.opened_unix + RoundTimeoutSeconds(study.spec);
  SCV_RETURN_IF_ERROR(store_->UpsertRound(r));
  SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> history, store_->ListRounds(study.study_id));
  history.pop_back();  // the round being opened
  SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(study));
  for (TaskRecord t : logic->PlanRound(study, round, input_checkpoint, history)) {
    // A site that denied the study takes no part: its task is failed from the start, so the
    // round closes as soon as the others are in instead of waiting for the deadline.
    SCV_ASSIGN_OR_RETURN(std::optional<v1::StudyDecision> decision,
                         store_->trust().GetDecision(study.study_id, t.site_id));
    if (decision && decision->state() == v1::DECISION_STATE_DENIED) {
      t.state = kTaskFailed;
      t.done_unix = r.opened_unix;
    }
    SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
  }
  study.current_round = round;
  study.message = absl::StrCat("round ", round, " open");
  Changed();
  return store_->UpdateStudy(study);
}

int64_t Federation::RoundTimeoutSeconds(const v1::StudySpec& spec) const {
  const double s = spec.round_timeout_s() > 0
                       ? spec.round_timeout_s()
                       : absl::ToDoubleSeconds(options_.default_round_timeout);
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(s)));
}

absl::Status Federation::MaybeCloseRound(StudyRecord& study, bool deadline_passed) {
  // An update of the study is being folded without mu_: its record calls this again (and a
  // passed deadline is seen by the next Tick), so the aggregate is never read during a fold and
  // a task is never expired under its own claim.
  if (folding_.count(study.study_id) > 0) return absl::OkStatus();
  SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study.study_id));
  if (rounds.empty() || rounds.back().state != kRoundOpen) return absl::OkStatus();
  RoundRecord round = rounds.back();
  SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                       store_->ListTasks(study.study_id, round.round));
  // Completeness from the tasks' states alone: no result is loaded until the round closes.
  size_t done = 0;
  for (const TaskRecord& t : tasks) done += t.state == kTaskDone;
  SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(study));
  const bool init_round = logic->IsInitRound(round.round);
  const size_t needed = init_round ? 1 : study.spec.min_sites();
  std::vector<std::string> failed;  // sites that reported they could not do their task
  for (const TaskRecord& t : tasks) {
    if (t.state == kTaskFailed) failed.push_back(t.site_id);
  }
  const bool complete = done + failed.size() == tasks.size();
  if (complete && !failed.empty() && done < needed) {
    study.state = v1::STUDY_STATE_FAILED;
    // study.message holds the last failure reported (SubmitLocked), the others are events.
    study.message = absl::StrCat("round ", round.round, ": ", done, " of ", tasks.size(),
                                 " results, ", needed, " needed; the task failed at ",
                                 absl::StrJoin(failed, ", "), " (last: ", study.message, ")");
    spdlog::error("study '{}' failed: {}", study.study_id, study.message);
    Audit("aggregator", "", "study_failed", study.study_id, "", {}, study.message);
    return store_->UpdateStudy(study);
  }
  if (!complete) {
    if (!deadline_passed) {
      // Enough results: wait_after_min_s brings the deadline forward.
      const double wait = study.spec.wait_after_min_s();
      if (done >= needed && wait > 0) {
        const int64_t sooner = NowUnix() + static_cast<int64_t>(std::ceil(wait));
        if (round.deadline_unix == 0 || sooner < round.deadline_unix) {
          round.deadline_unix = sooner;
          SCV_RETURN_IF_ERROR(store_->UpsertRound(round));
        }
      }
      return absl::OkStatus();
    }
    if (done < needed) {
      // Who is missing, and is any of them alive and working (a recent heartbeat)?
      const int64_t now = NowUnix();
      AbsorbSightings();
      std::vector<std::string> missing;
      bool working = false;
      for (const TaskRecord& t : tasks) {
        if (t.state == kTaskDone || t.state == kTaskFailed) continue;
        if (t.site_id.empty()) {
          missing.push_back("(unclaimed)");
          continue;
        }
        auto live = liveness_.find(t.site_id);
        const int64_t seen = live == liveness_.end() ? 0 : live->second.last_seen_unix;
        working = working || Online(t.site_id);
        missing.push_back(absl::StrCat(t.site_id, " (", Ago(now, seen), ")"));
      }
      const int64_t timeout = RoundTimeoutSeconds(study.spec);
      const int64_t extensions = (round.deadline_unix - round.opened_unix) / timeout - 1;
      if (working && extensions < kMaxDeadlineExtensions) {
        if (init_round) {  // give the initialisation to whichever site asks next
          for (TaskRecord t : tasks) {
            if (Online(t.site_id)) continue;
            t.site_id.clear();
            t.state = kTaskPending;
            SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
          }
        }
        round.deadline_unix += timeout;
        SCV_RETURN_IF_ERROR(store_->UpsertRound(round));
        study.message = absl::StrCat(
            "round ", round.round, ": ", done, " of ", tasks.size(), " results at the deadline, ",
            needed, " needed; waiting once more for ", absl::StrJoin(missing, ", "));
        spdlog::warn("study '{}': {}", study.study_id, study.message);
        return store_->UpdateStudy(study);
      }
      study.state = v1::STUDY_STATE_FAILED;
      study.message = absl::StrCat(
          "round ", round.round, ": ", done, " of ", tasks.size(), " results at the deadline, ",
          needed, " needed; missing: ", absl::StrJoin(missing, ", "),
          working ? absl::StrCat(" (deadline already extended ", extensions, " times)") : "");
      for (TaskRecord t : tasks) {
        if (t.state == kTaskDone || t.state == kTaskFailed) continue;
        t.state = kTaskExpired;
        SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      }
      spdlog::error("study '{}' failed: {}", study.study_id, study.message);
      Audit("aggregator", "", "study_failed", study.study_id, "", {}, study.message);
      Changed();
      return store_->UpdateStudy(study);
    }
    for (TaskRecord t : tasks) {
      if (t.state == kTaskDone || t.state == kTaskFailed) continue;
      t.state = kTaskExpired;
      SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      Audit("aggregator", "", "task_expired", study.study_id, t.site_id, {t.task_id},
            "missed the round deadline");
    }
  }
  // Under secure aggregation the round closes once its masks can come off (the unmask phase).
  SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secure,
                       SecAggOf(study, round.round, *logic));
  if (secure) {
    absl::StatusOr<bool> ready = SecAggReadyToClose(study, round.round);
    if (!ready.ok()) {
      study.state = v1::STUDY_STATE_FAILED;
      study.message = absl::StrCat("round ", round.round, ": ", ready.status().message());
      spdlog::error("study '{}' failed: {}", study.study_id, study.message);
      Audit("aggregator", "", "study_failed", study.study_id, "", {}, study.message);
      secagg_.Forget(study.study_id);
      Changed();
      return store_->UpdateStudy(study);
    }
    if (!*ready) return absl::OkStatus();
  }
  // A streamed round's results are read without their weights: the model comes from the
  // running aggregate.
  const bool secure_analysis = secure && study.spec.kind() != v1::STUDY_KIND_TRAINING;
  const AggregationStrategy* strategy = secure_analysis ? nullptr
                                        : secure        ? &ring_sum_
                                                        : logic->RoundStrategy(round.round);
  std::vector<ResultRecord> results;
  for (const TaskRecord& t : tasks) {
    if (t.state != kTaskDone) continue;
    SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> r,
                         store_->GetResult(t.task_id, /*with_weights=*/strategy == nullptr));
    if (!r) continue;
    if (strategy == nullptr && !r->weights_path.empty()) {  // small: read whole from the spool
      SCV_ASSIGN_OR_RETURN(r->weights,
                           LoadSpooled({r->weights_path, r->weights_manifest, r->weights_sha256,
                                        r->weights_manifest.total_bytes()}));
    }
    results.push_back(std::move(*r));
  }
  std::optional<protocol::TensorSet> input;
  const std::string input_id = tasks.empty() ? "" : tasks.front().checkpoint_id;
  // FedAvg's next model is the aggregate alone: its round closes without the input model in
  // memory (the downloads' copy is dropped too), so the close holds the accumulator and the
  // new model, nothing else the size of the model.
  const bool needs_input = strategy == nullptr || secure || strategy->NeedsGlobal();
  if (!input_id.empty() && needs_input) {
    // From the copy the downloads share: reading the store again would hold the model twice
    // more (SQLite's assembled blob and the row's copy) at the round's peak.
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> encoded,
                         CachedCheckpoint(input_id));
    SCV_ASSIGN_OR_RETURN(protocol::TensorSet w, encoded->Decode());
    input = std::move(w);
  } else if (!input_id.empty()) {
    checkpoints_.Erase(input_id);
  }
  rounds.pop_back();  // the closed rounds before this one
  absl::StatusOr<RoundOutcome> outcome =
      secure_analysis
          ? CloseSecureAnalysis(study, round.round, *logic, input ? &*input : nullptr, results,
                                rounds)
          : logic->CloseRound(study, round.round, input ? &*input : nullptr, results, rounds);
  if (outcome.ok() && strategy != nullptr) {
    if (input_id.empty() || outcome->weights.has_value()) {
      outcome = absl::InternalError("a streamed round needs an input model and makes its own");
    } else {
      absl::StatusOr<protocol::TensorSet> next = FinishStreamedRound(
          study, *strategy, round.round, results, input_id, input ? &*input : nullptr);
      if (next.ok() && secure) next = UnmaskedModel(study, round.round, results, *input, *next);
      if (next.ok()) {
        outcome->weights = std::move(*next);
      } else {
        outcome = next.status();
      }
    }
  }
  if (!outcome.ok()) {
    study.state = v1::STUDY_STATE_FAILED;
    study.message = absl::StrCat("round ", round.round, ": ", outcome.status().message());
    spdlog::error("study '{}' failed: {}", study.study_id, study.message);
    Audit("aggregator", "", "study_failed", study.study_id, "", {}, study.message);
    return store_->UpdateStudy(study);
  }
  round.state = kRoundClosed;
  round.closed_unix = NowUnix();
  round.metrics = outcome->metrics;
  round.result_json = outcome->result_json;
  std::string next_input = input_id;
  if (outcome->weights) {
    round.checkpoint_id = CheckpointId(study.study_id, round.round);
    SCV_RETURN_IF_ERROR(store_->PutCheckpoint(round.checkpoint_id, study.study_id, round.round,
                                              *outcome->weights, NowUnix()));
    next_input = round.checkpoint_id;
    if (options_.keep_checkpoints > 0 && round.round >= options_.keep_checkpoints) {
      // A study of hundreds of rounds would otherwise keep every model (300 rounds of a 1 MB
      // model: 307 MB of database).
      SCV_RETURN_IF_ERROR(
          store_->PruneCheckpoints(study.study_id, round.round + 1 - options_.keep_checkpoints)
              .status());
    }
  }
  SCV_RETURN_IF_ERROR(store_->UpsertRound(round));
  // Aggregated: the sites' weights of this round are no longer needed (their metadata stay,
  // for the report, the audit and duplicate uploads).
  SCV_RETURN_IF_ERROR(store_->PruneResultWeights(study.study_id, round.round).status());
  for (const TaskRecord& t : tasks) pruned_tasks_.push_back(t.task_id);
  aggregations_.erase(study.study_id);
  std::vector<std::string> combined;
  for (const ResultRecord& r : results) combined.push_back(r.task_id);
  Audit("aggregator", "", "round_closed", study.study_id, "", std::move(combined),
        absl::StrCat("round ", round.round,
                     round.checkpoint_id.empty() ? "" : " -> " + round.checkpoint_id));
  spdlog::info("study '{}': round {} closed with {} of {} sites{}", study.study_id, round.round,
               results.size(), tasks.size(),
               round.checkpoint_id.empty() ? "" : " -> " + round.checkpoint_id);
  if (outcome->study_done) {
    study.state = v1::STUDY_STATE_DONE;
    study.message = "done";
    Audit("aggregator", "", "study_done", study.study_id, "", {}, "");
    return store_->UpdateStudy(study);
  }
  return OpenRound(study, round.round + 1, next_input);
}

absl::Status Federation::TickLocked() {
  // Last-seen times reach the store here, not on every poll.
  AbsorbSightings();
  for (auto& [site_id, live] : liveness_) {
    if (!live.dirty) continue;
    SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(site_id));
    if (!site) continue;
    site->last_seen_unix = live.last_seen_unix;
    SCV_RETURN_IF_ERROR(store_->UpsertSite(*site));
    live.dirty = false;
  }
  SCV_ASSIGN_OR_RETURN(std::vector<StudyRecord> studies, store_->ListStudies());
  const int64_t now = NowUnix();
  const std::vector<std::pair<std::string, uint32_t>> unmasking = secagg_.InUnmasking();
  for (StudyRecord& study : studies) {
    if (study.state != v1::STUDY_STATE_RUNNING) continue;
    SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study.study_id));
    if (rounds.empty()) continue;
    const bool passed = rounds.back().deadline_unix != 0 && now >= rounds.back().deadline_unix;
    // A securely aggregated round in its unmask phase closes once its wait is over.
    const bool unmask =
        std::find(unmasking.begin(), unmasking.end(),
                  std::make_pair(study.study_id, rounds.back().round)) != unmasking.end();
    if (!passed && !unmask) continue;
    const absl::Status closed =
        store_->InTransaction([&] { return MaybeCloseRound(study, passed); });
    if (!closed.ok()) {
      pruned_tasks_.clear();
      return closed;
    }
    FlushPrunedFiles();
  }
  return absl::OkStatus();
}

absl::Status Federation::Tick() {
  absl::MutexLock lock(&mu_);
  return TickLocked();
}

void Federation::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  Changed();
}

}  // namespace scancov::aggregator
