// The rounds of a study: opening one, deciding whether it may close (every result in, or its
// deadline passed with enough of them), closing it (the study's logic or streamed strategy makes
// the outcome) and opening the next, all inside the caller's transaction (federation.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

std::string Ago(int64_t now, int64_t then) {
  if (then == 0) return "never heard from";
  return absl::StrCat("last heard from ", now - then, " s ago");
}

}  // namespace

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

absl::Status Federation::FailStudy(StudyRecord& study, std::string message) {
  study.state = v1::STUDY_STATE_FAILED;
  study.message = std::move(message);
  spdlog::error("study '{}' failed: {}", study.study_id, study.message);
  Audit("aggregator", "", "study_failed", study.study_id, "", {}, study.message);
  Changed();
  return store_->UpdateStudy(study);
}

absl::Status Federation::MaybeCloseRound(StudyRecord& study, bool deadline_passed) {
  // An update of the study is being folded without mu_: its record calls this again (and a
  // passed deadline is seen by the next Tick), so the aggregate is never read during a fold and
  // a task is never expired under its own claim.
  if (folding_.count(study.study_id) > 0) return absl::OkStatus();
  SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study.study_id));
  if (rounds.empty() || rounds.back().state != kRoundOpen) return absl::OkStatus();
  RoundProgress p;
  p.round = rounds.back();
  // Completeness from the tasks' states alone: no result is loaded until the round closes.
  SCV_ASSIGN_OR_RETURN(p.tasks, store_->ListTasks(study.study_id, p.round.round));
  for (const TaskRecord& t : p.tasks) {
    p.done += t.state == kTaskDone;
    if (t.state == kTaskFailed) p.failed.push_back(t.site_id);
  }
  SCV_ASSIGN_OR_RETURN(const StudyLogic* logic, LogicFor(study));
  p.init_round = logic->IsInitRound(p.round.round);
  p.needed = p.init_round ? 1 : study.spec.min_sites();
  const bool complete = p.done + p.failed.size() == p.tasks.size();
  if (complete && !p.failed.empty() && p.done < p.needed) {
    // study.message holds the last failure reported (SubmitLocked), the others are events.
    return FailStudy(study,
                     absl::StrCat("round ", p.round.round, ": ", p.done, " of ", p.tasks.size(),
                                  " results, ", p.needed, " needed; the task failed at ",
                                  absl::StrJoin(p.failed, ", "), " (last: ", study.message, ")"));
  }
  if (!complete) {
    if (!deadline_passed) return BringDeadlineForward(study, p);
    SCV_ASSIGN_OR_RETURN(const bool close, SettleMissedDeadline(study, p));
    if (!close) return absl::OkStatus();
  }
  rounds.pop_back();  // the closed rounds before this one
  return CloseRound(study, std::move(p), rounds, *logic);
}

absl::Status Federation::BringDeadlineForward(const StudyRecord& study, RoundProgress& p) {
  // Enough results: wait_after_min_s brings the deadline forward.
  const double wait = study.spec.wait_after_min_s();
  if (p.done < p.needed || wait <= 0) return absl::OkStatus();
  const int64_t sooner = NowUnix() + static_cast<int64_t>(std::ceil(wait));
  if (p.round.deadline_unix != 0 && sooner >= p.round.deadline_unix) return absl::OkStatus();
  p.round.deadline_unix = sooner;
  return store_->UpsertRound(p.round);
}

absl::StatusOr<bool> Federation::SettleMissedDeadline(StudyRecord& study, RoundProgress& p) {
  if (p.done >= p.needed) {  // enough: the late tasks expire and the round closes without them
    for (TaskRecord t : p.tasks) {
      if (t.state == kTaskDone || t.state == kTaskFailed) continue;
      t.state = kTaskExpired;
      SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      Audit("aggregator", "", "task_expired", study.study_id, t.site_id, {t.task_id},
            "missed the round deadline");
    }
    return true;
  }
  // Who is missing, and is any of them alive and working (a recent heartbeat)?
  const int64_t now = NowUnix();
  AbsorbSightings();
  std::vector<std::string> missing;
  bool working = false;
  for (const TaskRecord& t : p.tasks) {
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
  const int64_t extensions = (p.round.deadline_unix - p.round.opened_unix) / timeout - 1;
  const std::string so_far =
      absl::StrCat("round ", p.round.round, ": ", p.done, " of ", p.tasks.size(),
                   " results at the deadline, ", p.needed, " needed; ");
  if (working && extensions < kMaxDeadlineExtensions) {
    if (p.init_round) {  // give the initialisation to whichever site asks next
      for (TaskRecord t : p.tasks) {
        if (Online(t.site_id)) continue;
        t.site_id.clear();
        t.state = kTaskPending;
        SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      }
    }
    p.round.deadline_unix += timeout;
    SCV_RETURN_IF_ERROR(store_->UpsertRound(p.round));
    study.message = absl::StrCat(so_far, "waiting once more for ", absl::StrJoin(missing, ", "));
    spdlog::warn("study '{}': {}", study.study_id, study.message);
    SCV_RETURN_IF_ERROR(store_->UpdateStudy(study));
    return false;
  }
  for (TaskRecord t : p.tasks) {
    if (t.state == kTaskDone || t.state == kTaskFailed) continue;
    t.state = kTaskExpired;
    SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
  }
  SCV_RETURN_IF_ERROR(FailStudy(
      study,
      absl::StrCat(
          so_far, "missing: ", absl::StrJoin(missing, ", "),
          working ? absl::StrCat(" (deadline already extended ", extensions, " times)") : "")));
  return false;
}

absl::Status Federation::CloseRound(StudyRecord& study, RoundProgress p,
                                    const std::vector<RoundRecord>& history,
                                    const StudyLogic& logic) {
  // Under secure aggregation the round closes once its masks can come off (the unmask phase).
  SCV_ASSIGN_OR_RETURN(const std::optional<SecAggSettings> secure,
                       SecAggOf(study, p.round.round, logic));
  if (secure) {
    absl::StatusOr<bool> ready = SecAggReadyToClose(study, p.round.round);
    if (!ready.ok()) {
      secagg_.Forget(study.study_id);
      return FailStudy(study,
                       absl::StrCat("round ", p.round.round, ": ", ready.status().message()));
    }
    if (!*ready) return absl::OkStatus();
  }
  SCV_ASSIGN_OR_RETURN(RoundInputs in, LoadRoundInputs(study, p, logic, secure.has_value()));
  absl::StatusOr<RoundOutcome> outcome = AggregateRound(study, p, history, logic, in);
  if (!outcome.ok()) {
    return FailStudy(study,
                     absl::StrCat("round ", p.round.round, ": ", outcome.status().message()));
  }
  return RecordClosedRound(study, p, in.results, *std::move(outcome));
}

absl::StatusOr<Federation::RoundInputs> Federation::LoadRoundInputs(const StudyRecord& study,
                                                                    const RoundProgress& p,
                                                                    const StudyLogic& logic,
                                                                    bool secure) {
  RoundInputs in;
  in.secure = secure;
  in.secure_analysis = secure && study.spec.kind() != v1::STUDY_KIND_TRAINING;
  // A streamed round's results are read without their weights: the model comes from the
  // running aggregate.
  in.strategy = in.secure_analysis ? nullptr
                : secure           ? &ring_sum_
                                   : logic.RoundStrategy(p.round.round);
  for (const TaskRecord& t : p.tasks) {
    if (t.state != kTaskDone) continue;
    SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> r,
                         store_->GetResult(t.task_id, /*with_weights=*/in.strategy == nullptr));
    if (!r) continue;
    if (in.strategy == nullptr && !r->weights_path.empty()) {  // small: read whole from the spool
      SCV_ASSIGN_OR_RETURN(r->weights,
                           LoadSpooled({r->weights_path, r->weights_manifest, r->weights_sha256,
                                        r->weights_manifest.total_bytes()}));
    }
    in.results.push_back(std::move(*r));
  }
  in.input_id = p.tasks.empty() ? "" : p.tasks.front().checkpoint_id;
  // FedAvg's next model is the aggregate alone: its round closes without the input model in
  // memory (the downloads' copy is dropped too), so the close holds the accumulator and the
  // new model, nothing else the size of the model.
  const bool needs_input = in.strategy == nullptr || secure || in.strategy->NeedsGlobal();
  if (!in.input_id.empty() && needs_input) {
    // From the copy the downloads share: reading the store again would hold the model twice
    // more (SQLite's assembled blob and the row's copy) at the round's peak.
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> encoded,
                         CachedCheckpoint(in.input_id));
    SCV_ASSIGN_OR_RETURN(protocol::TensorSet w, encoded->Decode());
    in.input = std::move(w);
  } else if (!in.input_id.empty()) {
    checkpoints_.Erase(in.input_id);
  }
  return in;
}

absl::StatusOr<RoundOutcome> Federation::AggregateRound(const StudyRecord& study,
                                                        const RoundProgress& p,
                                                        const std::vector<RoundRecord>& history,
                                                        const StudyLogic& logic,
                                                        const RoundInputs& in) {
  const protocol::TensorSet* input = in.input ? &*in.input : nullptr;
  if (in.secure_analysis) {
    return CloseSecureAnalysis(study, p.round.round, logic, input, in.results, history);
  }
  SCV_ASSIGN_OR_RETURN(RoundOutcome outcome,
                       logic.CloseRound(study, p.round.round, input, in.results, history));
  if (in.strategy == nullptr) return outcome;
  if (in.input_id.empty() || outcome.weights.has_value()) {
    return absl::InternalError("a streamed round needs an input model and makes its own");
  }
  SCV_ASSIGN_OR_RETURN(
      protocol::TensorSet next,
      FinishStreamedRound(study, *in.strategy, p.round.round, in.results, in.input_id, input));
  if (in.secure) {
    SCV_ASSIGN_OR_RETURN(next, UnmaskedModel(study, p.round.round, in.results, *in.input, next));
  }
  outcome.weights = std::move(next);
  return outcome;
}

absl::Status Federation::RecordClosedRound(StudyRecord& study, RoundProgress& p,
                                           const std::vector<ResultRecord>& results,
                                           RoundOutcome outcome) {
  RoundRecord& round = p.round;
  round.state = kRoundClosed;
  round.closed_unix = NowUnix();
  round.metrics = outcome.metrics;
  round.result_json = outcome.result_json;
  std::string next_input = p.tasks.empty() ? "" : p.tasks.front().checkpoint_id;
  if (outcome.weights) {
    round.checkpoint_id = CheckpointId(study.study_id, round.round);
    SCV_RETURN_IF_ERROR(store_->PutCheckpoint(round.checkpoint_id, study.study_id, round.round,
                                              *outcome.weights, NowUnix()));
    for (const protocol::Tensor& t : outcome.weights->tensors()) work_.Add(t.bytes.size());
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
  for (const TaskRecord& t : p.tasks) pruned_tasks_.push_back(t.task_id);
  aggregations_.erase(study.study_id);
  std::vector<std::string> combined;
  for (const ResultRecord& r : results) combined.push_back(r.task_id);
  const std::string arrow = round.checkpoint_id.empty() ? "" : " -> " + round.checkpoint_id;
  Audit("aggregator", "", "round_closed", study.study_id, "", std::move(combined),
        absl::StrCat("round ", round.round, arrow));
  spdlog::info("study '{}': round {} closed with {} of {} sites{}", study.study_id, round.round,
               results.size(), p.tasks.size(), arrow);
  if (outcome.study_done) {
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

}  // namespace scancov::aggregator
