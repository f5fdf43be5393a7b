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

void Federation::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  Changed();
}

}  // namespace scancov::aggregator
