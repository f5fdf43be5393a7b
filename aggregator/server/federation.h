// Federation: the aggregator's protocol logic, independent of gRPC.
//
// Callers are identified by the grpc layer from their verified certificate and passed in as a
// Caller; nothing in a request body can change who the caller is. Sites may call only the
// node-facing methods and must be enrolled and enabled; coordinators may call only the
// coordinator-facing methods.
//
// Rounds: a study's current round has one task per site (see StudyLogic). A site's PullTask
// returns its open task (the same one again until its result is in). A round closes when every
// task has a result, or when its deadline has passed and at least spec.min_sites results are in
// (late tasks are marked expired and their uploads refused). Too few results at the deadline:
// the round keeps waiting and the study's message says so. Closing a round stores its outcome
// (a new checkpoint, combined metrics) and opens the next round in the same transaction, so a
// restart resumes exactly where the last accepted upload left the study.
//
// Audit: every call that changes or reveals something (enrolments, identities, studies created,
// tasks issued, checkpoints sent, results accepted or refused, failures and decisions received,
// finished studies' reports and checkpoints downloaded) is appended to the hash-chained audit
// log (audit_log.h) with the identity from the caller's certificate.
//
// Site decisions (node/approvals.h): a site whose decision on a study is pending or denied is
// offered no task of it; a denial fails its open tasks with the steward's reason.
//
// Thread safety: all public methods are thread-safe (one mutex; SQLite calls happen under it).
#ifndef SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_
#define SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/store.h"
#include "aggregator/server/study_logic.h"
#include "core/env.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

// Round and task states, as stored and as sent in SiteRoundStatus / RoundStatus.
inline constexpr char kRoundOpen[] = "open";
inline constexpr char kRoundClosed[] = "closed";
inline constexpr char kTaskPending[] = "pending";
inline constexpr char kTaskIssued[] = "issued";
inline constexpr char kTaskDone[] = "done";
inline constexpr char kTaskExpired[] = "expired";
inline constexpr char kTaskFailed[] = "failed";  // the site could not do it, or denied the study

struct Caller {
  enum class Role { kSite, kCoordinator };
  Role role = Role::kSite;
  std::string id;
};

struct FederationOptions {
  Clock* clock = Clock::Real();
  // How long an idle node is told to wait before pulling again.
  absl::Duration wait = absl::Seconds(2);
  std::string aggregator_version = "0.1.0";
  // The study kinds this aggregator runs (aggregator/studies/registry.h: AllStudyLogics());
  // must outlive the Federation. Without it every CreateStudy is refused.
  const StudyLogicRegistry* studies = nullptr;
};

class Federation {
 public:
  Federation(std::unique_ptr<AggregatorStore> store, FederationOptions options);

  // --- node-facing (role site) ---
  absl::StatusOr<v1::RegisterResponse> Register(const Caller& caller,
                                                const v1::RegisterRequest& request);
  absl::StatusOr<v1::PullTaskResponse> PullTask(const Caller& caller);
  // The checkpoint a task of the caller refers to (`checkpoint_id` must match the task's).
  absl::StatusOr<protocol::TensorSet> TaskWeights(const Caller& caller, const std::string& task_id,
                                                  const std::string& checkpoint_id);
  // Accepts a result once; the same result again is answered duplicate=true.
  absl::StatusOr<v1::UploadResponse> SubmitResult(const Caller& caller,
                                                  const v1::UploadHeader& header,
                                                  std::optional<protocol::TensorSet> weights);
  // Records the site's decision on a study (node/approvals.h). Pending or denied: no task of the
  // study is offered to the site; denied: its open tasks fail with the steward's reason.
  absl::StatusOr<v1::DecisionAck> ReportDecision(const Caller& caller,
                                                 const v1::StudyDecision& decision);

  // --- coordinator-facing (role coordinator) ---
  absl::StatusOr<v1::SiteInfo> EnrollSite(const Caller& caller, const v1::EnrollSiteRequest& req);
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const Caller& caller,
                                              const v1::SetSiteEnabledRequest& req);
  absl::StatusOr<v1::ListSitesResponse> ListSites(const Caller& caller);
  absl::StatusOr<v1::StudyStatus> CreateStudy(const Caller& caller,
                                              const v1::CreateStudyRequest& req);
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const Caller& caller, const std::string& study_id);
  absl::StatusOr<v1::ListStudiesResponse> ListStudies(const Caller& caller);
  // A study's checkpoint (latest if `checkpoint_id` is empty).
  absl::StatusOr<protocol::TensorSet> GetCheckpoint(const Caller& caller,
                                                    const std::string& study_id,
                                                    const std::string& checkpoint_id);
  // The audit log from req.after_seq (audit_log.h), with its head.
  absl::StatusOr<v1::ReadAuditResponse> ReadAudit(const Caller& caller,
                                                  const v1::ReadAuditRequest& req);
  // Disables or enables a site or a coordinator (a disabled coordinator's calls are refused).
  absl::StatusOr<v1::IdentityInfo> SetIdentityEnabled(const Caller& caller,
                                                      const v1::SetIdentityEnabledRequest& req);

  // Closes rounds whose deadline has passed. Called by every method and by a server timer.
  absl::Status Tick();
  // After Drain(), PullTask answers Stop so nodes exit cleanly.
  void Drain();

  // Records a refusal made outside this class (e.g. a corrupted stream in the grpc layer).
  void RecordRefusal(const Caller& caller, const std::string& what, const absl::Status& why);

 private:
  int64_t NowUnix();
  absl::Status RequireSite(const Caller& caller) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RequireCoordinator(const Caller& caller) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenRound(StudyRecord& study, uint32_t round, const std::string& input_checkpoint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaybeCloseRound(StudyRecord& study, bool deadline_passed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<v1::Task>> NextTaskFor(const std::string& site_id,
                                                      const StudyRecord& study)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::StudyStatus> BuildStatus(const StudyRecord& study)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::UploadResponse> SubmitLocked(const Caller& caller,
                                                  const v1::UploadHeader& header,
                                                  std::optional<protocol::TensorSet>& weights)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The study's logic, created from its spec on first use (once per study and process) and kept.
  absl::StatusOr<const StudyLogic*> LogicFor(const StudyRecord& study)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends to the audit log (audit_log.h); a failure to append is logged, not returned.
  void Audit(const std::string& role, const std::string& actor, const std::string& action,
             const std::string& study_id, const std::string& site_id,
             std::vector<std::string> task_ids, const std::string& detail)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Audit(const Caller& caller, const std::string& action, const std::string& study_id,
             const std::string& site_id, std::vector<std::string> task_ids,
             const std::string& detail) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FederationOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<StudyLogic>> logics_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<AggregatorStore> store_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_
