// The coordinator-facing half of Federation (federation.h): enrolment and identities, study
// creation and status, checkpoints, the audit log.
#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/study_privacy_options.h"
#include "core/number_format.h"
#include "core/status_macros.h"
#include "protocol/ids.h"
#include "protocol/study_kind.h"
#include "protocol/wire/secure_sum.h"

namespace scancov::aggregator {
namespace {

v1::SiteInfo ToProto(const SiteRecord& s) {
  v1::SiteInfo info;
  info.set_site_id(s.site_id);
  info.set_display_name(s.display_name);
  info.set_enabled(s.enabled);
  info.set_last_seen_unix(s.last_seen_unix);
  info.set_node_version(s.node_version);
  info.set_device(s.device);
  return info;
}

// Fills defaults so that equal intents compare equal.
v1::StudySpec Normalize(v1::StudySpec spec) {
  if (spec.min_sites() == 0) spec.set_min_sites(static_cast<uint32_t>(spec.sites_size()));
  if (spec.strategy().empty()) spec.set_strategy("fedavg");
  return spec;
}

// result_json without the logic's replay state (kReplayKey), for the coordinator.
std::string WithoutReplayState(const std::string& result_json) {
  if (result_json.find(kReplayKey) == std::string::npos) return result_json;
  nlohmann::json j = nlohmann::json::parse(result_json, nullptr, false);
  if (!j.is_object() || !j.contains(kReplayKey)) return result_json;
  j.erase(kReplayKey);
  return j.dump();
}

// What a create of `spec` that passed every check would have answered, had it created the
// study: its normalized spec (kind filled in), no state, no rounds; the message says so.
v1::StudyStatus DryRunStatus(const v1::StudySpec& spec, const std::string& privacy_summary) {
  v1::StudyStatus status;
  status.set_study_id(spec.name());
  *status.mutable_spec() = spec;
  status.set_message(absl::StrCat("dry run: the spec passed every check; nothing was created",
                                  privacy_summary.empty() ? "" : "; ", privacy_summary));
  return status;
}

}  // namespace

absl::StatusOr<v1::SiteInfo> Federation::EnrollSite(const Caller& caller,
                                                    const v1::EnrollSiteRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  if (!protocol::IsValidId(req.site_id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("site id '", req.site_id(), "' is invalid ([a-z0-9][a-z0-9_-]{0,62})"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(req.site_id()));
  if (!site) {
    site = SiteRecord{req.site_id(), req.display_name(), true, NowUnix(), 0, "", ""};
  } else if (!req.display_name().empty()) {
    site->display_name = req.display_name();
  }
  SCV_RETURN_IF_ERROR(store_->UpsertSite(*site));
  Audit(caller, "enrol", "", site->site_id, {}, site->display_name);
  return ToProto(*site);
}

absl::StatusOr<v1::SiteInfo> Federation::SetSiteEnabled(const Caller& caller,
                                                        const v1::SetSiteEnabledRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(req.site_id()));
  if (!site) return absl::NotFoundError(absl::StrCat("site '", req.site_id(), "' is not enrolled"));
  site->enabled = req.enabled();
  SCV_RETURN_IF_ERROR(store_->UpsertSite(*site));
  board_.ForgetSite(site->site_id);  // its next UploadStatus is checked under the lock
  Audit(caller, req.enabled() ? "enable_site" : "disable_site", "", site->site_id, {}, "");
  return ToProto(*site);
}

absl::StatusOr<v1::ListSitesResponse> Federation::ListSites(const Caller& caller) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  SCV_ASSIGN_OR_RETURN(std::vector<SiteRecord> sites, store_->ListSites());
  v1::ListSitesResponse response;
  AbsorbSightings();
  for (const SiteRecord& s : sites) {
    v1::SiteInfo& info = *response.add_sites() = ToProto(s);
    auto live = liveness_.find(s.site_id);
    if (live == liveness_.end()) continue;  // not heard from since this aggregator started
    info.set_last_seen_unix(std::max(info.last_seen_unix(), live->second.last_seen_unix));
    info.set_online(Online(s.site_id));
    info.set_activity(live->second.activity);
  }
  // Transfers in progress: uploads as the spool verifies their chunks, model downloads as they
  // are streamed; what the node's heartbeat cannot say while it is sending or has no model yet
  // (counts and sizes only).
  auto add_transfer = [&](const std::string& site_id, const std::string& what, uint32_t chunks,
                          uint32_t num_chunks, uint64_t bytes, uint64_t total_bytes,
                          absl::string_view unit) {
    for (v1::SiteInfo& info : *response.mutable_sites()) {
      if (info.site_id() != site_id) continue;
      info.set_activity(absl::StrCat(info.activity(), info.activity().empty() ? "" : "; ", what,
                                     ": chunk ", chunks, "/", num_chunks, ", ",
                                     HumanNumber(bytes / 1e6, 3), " of ",
                                     HumanNumber(total_bytes / 1e6, 3), unit));
    }
  };
  if (spool_ != nullptr) {
    for (const ReceivingUpload& up : spool_->Receiving()) {
      add_transfer(up.site_id, absl::StrCat("uploading task '", up.task_id, "'"),
                   up.chunks_verified, up.num_chunks, up.bytes_verified, up.total_bytes, " MB");
    }
  }
  for (const SendingDownload& down : downloads_.Sending()) {
    add_transfer(down.site_id, absl::StrCat("downloading task '", down.task_id, "' model"),
                 down.chunks_sent, down.num_chunks, down.bytes_sent, down.total_bytes, " MB sent");
  }
  return response;
}

absl::StatusOr<v1::StudyStatus> Federation::CreateStudy(const Caller& caller,
                                                        const v1::CreateStudyRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  v1::StudySpec spec = Normalize(req.spec());
  SCV_RETURN_IF_ERROR(protocol::NormalizeStudyKind(&spec));
  if (!protocol::IsValidId(spec.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("study name '", spec.name(), "' is invalid ([a-z0-9][a-z0-9_-]{0,62})"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> existing, store_->GetStudy(spec.name()));
  if (existing) {
    const bool same = google::protobuf::util::MessageDifferencer::Equals(existing->spec, spec);
    if (same && !req.dry_run()) return BuildStatus(*existing);
    return absl::AlreadyExistsError(absl::StrCat(
        "study '", spec.name(), "' already exists",
        same ? " with this spec (creating it again changes nothing)" : " with a different spec"));
  }
  if (spec.sites_size() == 0) return absl::InvalidArgumentError("study spec: no sites");
  std::set<std::string> seen;
  std::vector<std::string> all_sites(spec.sites().begin(), spec.sites().end());
  all_sites.insert(all_sites.end(), spec.evaluation_sites().begin(), spec.evaluation_sites().end());
  if (spec.evaluation_sites_size() > 0 && spec.kind() != v1::STUDY_KIND_TRAINING) {
    return absl::InvalidArgumentError("study spec: evaluation_sites are for training studies");
  }
  for (const std::string& site : all_sites) {
    if (!seen.insert(site).second) {
      return absl::InvalidArgumentError(absl::StrCat("study spec: site '", site, "' listed twice"));
    }
    SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> s, store_->GetSite(site));
    if (!s) {
      return absl::InvalidArgumentError(
          absl::StrCat("study spec: site '", site, "' is not enrolled"));
    }
  }
  if (spec.min_sites() > static_cast<uint32_t>(spec.sites_size())) {
    return absl::InvalidArgumentError("study spec: min_sites exceeds the number of sites");
  }
  if (options_.studies == nullptr) {
    return absl::FailedPreconditionError("this aggregator was started without study kinds");
  }
  SCV_ASSIGN_OR_RETURN(const std::string privacy_summary, CheckStudyPrivacyOptions(spec));
  absl::StatusOr<std::unique_ptr<StudyLogic>> logic = options_.studies->Create(spec);
  SCV_RETURN_IF_ERROR(Annotate(logic.status(), "study spec"));
  SCV_RETURN_IF_ERROR(CheckInitialModel(spec, **logic));
  if (req.dry_run()) return DryRunStatus(spec, privacy_summary);
  StudyRecord study;
  study.study_id = spec.name();
  study.spec = spec;
  study.created_unix = NowUnix();
  logics_[study.study_id] = std::move(*logic);
  SCV_RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    SCV_RETURN_IF_ERROR(store_->InsertStudy(study));
    if (!spec.plan().initial_model_sha256().empty()) return StartFromUploadedModel(study);
    return OpenRound(study, 0, "");
  }));
  Audit(caller, "create_study", study.study_id, "", {},
        absl::StrCat(spec.study_kind(), " over ", absl::StrJoin(spec.sites(), ", "),
                     privacy_summary.empty() ? "" : "; ", privacy_summary));
  spdlog::info("study '{}' created: {} rounds over {} sites{}{}", study.study_id, spec.rounds(),
               spec.sites_size(), privacy_summary.empty() ? "" : "; ", privacy_summary);
  return BuildStatus(study);
}

absl::StatusOr<v1::StudyStatus> Federation::BuildStatus(const StudyRecord& study) {
  v1::StudyStatus status;
  status.set_study_id(study.study_id);
  *status.mutable_spec() = study.spec;
  status.set_state(study.state);
  status.set_current_round(study.current_round);
  status.set_message(study.message);
  status.set_created_unix(study.created_unix);
  SCV_ASSIGN_OR_RETURN(std::vector<v1::SiteDecision> decisions,
                       store_->trust().Decisions(study.study_id));
  for (v1::SiteDecision& d : decisions) *status.add_decisions() = std::move(d);
  SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study.study_id));
  for (const RoundRecord& r : rounds) {
    v1::RoundStatus* rs = status.add_rounds();
    rs->set_round(r.round);
    rs->set_state(r.state);
    rs->set_checkpoint_id(r.checkpoint_id);
    rs->mutable_metrics()->insert(r.metrics.begin(), r.metrics.end());
    rs->set_result_json(WithoutReplayState(r.result_json));
    SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->ListTasks(study.study_id, r.round));
    for (const TaskRecord& t : tasks) {
      v1::SiteRoundStatus* ss = rs->add_sites();
      ss->set_site_id(t.site_id);
      ss->set_task_id(t.task_id);
      ss->set_state(t.state);
      if (t.state != kTaskDone) continue;
      SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> result,
                           store_->GetResult(t.task_id, /*with_weights=*/false));
      if (!result) continue;
      ss->set_num_samples(result->num_samples);
      ss->mutable_metrics()->insert(result->metrics.begin(), result->metrics.end());
    }
  }
  return status;
}

absl::StatusOr<v1::StudyStatus> Federation::GetStudyStatus(const Caller& caller,
                                                           const std::string& study_id) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  SCV_RETURN_IF_ERROR(TickLocked());
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(study_id));
  if (!study) return absl::NotFoundError(absl::StrCat("study '", study_id, "' not found"));
  // A finished study's status is its report; progress polls of a running one are not logged.
  if (study->state != v1::STUDY_STATE_RUNNING) {
    Audit(caller, "status_read", study_id, "", {}, "finished study: its report");
  }
  return BuildStatus(*study);
}

absl::StatusOr<v1::ListStudiesResponse> Federation::ListStudies(const Caller& caller) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  SCV_ASSIGN_OR_RETURN(std::vector<StudyRecord> studies, store_->ListStudies());
  v1::ListStudiesResponse response;
  for (const StudyRecord& s : studies) {
    v1::StudyStatus* st = response.add_studies();
    st->set_study_id(s.study_id);
    *st->mutable_spec() = s.spec;
    st->set_state(s.state);
    st->set_current_round(s.current_round);
    st->set_message(s.message);
    st->set_created_unix(s.created_unix);
  }
  return response;
}

absl::StatusOr<protocol::TensorSet> Federation::GetCheckpoint(const Caller& caller,
                                                              const std::string& study_id,
                                                              const std::string& checkpoint_id) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  std::string id = checkpoint_id;
  if (id.empty()) {
    SCV_ASSIGN_OR_RETURN(std::vector<RoundRecord> rounds, store_->ListRounds(study_id));
    for (const RoundRecord& r : rounds) {
      if (!r.checkpoint_id.empty()) id = r.checkpoint_id;
    }
    if (id.empty()) {
      return absl::NotFoundError(absl::StrCat("study '", study_id, "' has no checkpoint yet"));
    }
  } else if (id.rfind(study_id + "/", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint '", id, "' does not belong to study '", study_id, "'"));
  }
  Audit(caller, "checkpoint_downloaded", study_id, "", {}, id);
  return store_->GetCheckpoint(id);
}

absl::StatusOr<v1::ReadAuditResponse> Federation::ReadAudit(const Caller& caller,
                                                            const v1::ReadAuditRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  const size_t limit = req.limit() == 0 ? 1000 : std::min<uint32_t>(req.limit(), 10000);
  SCV_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                       store_->audit().Read(req.after_seq(), limit));
  SCV_ASSIGN_OR_RETURN(const auto head, store_->audit().Head());
  v1::ReadAuditResponse response;
  for (v1::AuditEntry& e : entries) *response.add_entries() = std::move(e);
  response.set_last_seq(head.first);
  response.set_head_hash(head.second);
  return response;
}

absl::StatusOr<v1::IdentityInfo> Federation::SetIdentityEnabled(
    const Caller& caller, const v1::SetIdentityEnabledRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  if (req.role() != "site" && req.role() != "coordinator") {
    return absl::InvalidArgumentError("identity: role must be 'site' or 'coordinator'");
  }
  if (!protocol::IsValidId(req.id())) {
    return absl::InvalidArgumentError(absl::StrCat("identity: '", req.id(), "' is not a valid id"));
  }
  SCV_RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    if (req.role() == "site") {
      SCV_ASSIGN_OR_RETURN(std::optional<SiteRecord> site, store_->GetSite(req.id()));
      if (!site) return absl::NotFoundError(absl::StrCat("site '", req.id(), "' is not enrolled"));
      site->enabled = req.enabled();
      SCV_RETURN_IF_ERROR(store_->UpsertSite(*site));
    }
    SCV_RETURN_IF_ERROR(store_->trust().SetIdentityEnabled(req.role(), req.id(), req.enabled(),
                                                           req.reason(), NowUnix()));
    if (req.role() == "site") board_.ForgetSite(req.id());
    Audit(caller, req.enabled() ? "enable_identity" : "disable_identity", "",
          req.role() == "site" ? req.id() : "", {},
          absl::StrCat(req.role(), " ", req.id(), req.reason().empty() ? "" : ": " + req.reason()));
    return absl::OkStatus();
  }));
  v1::IdentityInfo info;
  info.set_role(req.role());
  info.set_id(req.id());
  info.set_enabled(req.enabled());
  return info;
}

absl::StatusOr<v1::StudyStatus> Federation::AbortStudy(const Caller& caller,
                                                       const v1::AbortStudyRequest& req) {
  absl::MutexLock lock(&mu_);
  SCV_RETURN_IF_ERROR(RequireCoordinator(caller));
  if (req.reason().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("abort study '", req.study_id(), "': give a reason (kept in the audit log)"));
  }
  SCV_ASSIGN_OR_RETURN(std::optional<StudyRecord> study, store_->GetStudy(req.study_id()));
  if (!study) return absl::NotFoundError(absl::StrCat("study '", req.study_id(), "' not found"));
  if (study->state != v1::STUDY_STATE_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "study '", req.study_id(), "' already ended (",
        study->state == v1::STUDY_STATE_DONE ? "done" : "failed", "): ", study->message));
  }
  // Bounded: the reason is the coordinator's words, stored and shown to every site's steward.
  const std::string reason = req.reason().substr(0, 200);
  SCV_RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    SCV_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                         store_->ListTasks(study->study_id, study->current_round));
    std::vector<std::string> cancelled;
    for (TaskRecord t : tasks) {
      if (t.state != kTaskPending && t.state != kTaskIssued) continue;
      t.state = kTaskCancelled;
      SCV_RETURN_IF_ERROR(store_->UpsertTask(t));
      cancelled.push_back(t.task_id);
    }
    study->state = v1::STUDY_STATE_FAILED;
    study->message =
        absl::StrCat("aborted by ", caller.id, " in round ", study->current_round, ": ", reason);
    SCV_RETURN_IF_ERROR(store_->UpdateStudy(*study));
    Audit(caller, "study_aborted", study->study_id, "", std::move(cancelled), reason);
    return absl::OkStatus();
  }));
  aggregations_.erase(study->study_id);
  secagg_.Forget(study->study_id);
  spdlog::warn("study '{}' {}", study->study_id, study->message);
  Changed();
  return BuildStatus(*study);
}

}  // namespace scancov::aggregator
