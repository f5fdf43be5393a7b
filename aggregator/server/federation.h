// Federation: the aggregator's protocol logic, independent of gRPC.
//
// Callers are identified by the grpc layer from their verified certificate and passed in as a
// Caller; nothing in a request body can change who the caller is. Sites may call only the
// node-facing methods and must be enrolled and enabled; coordinators may call only the
// coordinator-facing methods.
//
// Rounds: a study's current round has one task per site (see StudyLogic). A site's PullTask
// returns its open task (the same one again until its result is in) with the round's deadline.
// Round policy:
//  - a round closes when every task has a result (or failed), or when its deadline has passed
//    and at least spec.min_sites results are in (late tasks are marked expired and their uploads
//    refused);
//  - once min_sites results are in, spec.wait_after_min_s (when set) brings the deadline forward;
//  - every round has a deadline: spec.round_timeout_s, or options.default_round_timeout;
//  - too few results at the deadline: if a site still holding a task has sent a heartbeat within
//    the offline window (it is alive and working) the deadline moves by one timeout, at most
//    kMaxDeadlineExtensions times; otherwise the study fails with the reason (who is missing and
//    when each was last heard from). A round never waits forever.
// Closing a round stores its outcome (a new checkpoint, combined metrics) and opens the next
// round in the same transaction, so a restart resumes exactly where the last accepted upload
// left the study.
//
// Liveness: every call of a site updates its last-seen time (kept in memory, written to the
// store by Tick); Heartbeat also records what the node is doing. ListSites shows a site online
// when it was heard from within options.offline_after. PullTask long-polls: when the site takes
// part in a running study but has no task now (waiting for the others, or for its steward), it
// holds the call (request.max_wait_ms, at most options.max_long_poll) and answers as soon as a
// round opens, a study is created or a decision changes; an idle site is answered at once.
//
// Audit: every call that changes or reveals something (enrolments, identities, studies created,
// tasks issued, checkpoints sent, results accepted or refused, failures and decisions received,
// finished studies' reports and checkpoints downloaded) is appended to the hash-chained audit
// log (audit_log.h) with the identity from the caller's certificate.
//
// Site decisions (node/approvals.h): a site whose decision on a study is pending or denied is
// offered no task of it; a denial fails its open tasks with the steward's reason.
//
// Thread safety: all public methods are thread-safe. One mutex (mu_) guards the store (every
// SQLite call happens under it), the rounds and the in-memory state; the expensive part of an
// accepted upload does not run under it. Locks, outermost first:
//  - mu_: short sections only, a submission's claim and its record (below), every other call;
//  - Aggregation::mu, one per study's open streamed round: serialises the folds into its
//    accumulator; taken without mu_ by a fold, or under mu_ by the round's close (uncontended
//    then: a round never closes while one of its folds is in flight);
//  - leaf mutexes (UploadBoard, the spool, the checkpoint cache, sightings_mu_): nothing else is
//    taken while they are held.
// A streamed round's upload is accepted in three steps (claim under mu_, fold without it,
// record under it), exactly once; federation_submit.cc says how and why.
#ifndef SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_
#define SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/server/checkpoint_cache.h"
#include "aggregator/server/download_board.h"
#include "aggregator/server/federation_options.h"
#include "aggregator/server/secagg_rounds.h"
#include "aggregator/server/store.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/strategy_ring_sum.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/server/upload_board.h"
#include "aggregator/server/upload_spool.h"
#include "aggregator/server/work_meter.h"
#include "core/env.h"
#include "core/version.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

class Federation {
 public:
  // `spool` (may be null: weights are then kept in the database, as for in-memory tests) holds
  // uploads as files; results of closed rounds left there by a crash are swept at start.
  Federation(std::unique_ptr<AggregatorStore> store, FederationOptions options,
             std::unique_ptr<UploadSpool> spool = nullptr);
  UploadSpool* spool() { return spool_.get(); }
  // The model downloads streaming now (DownloadWeights holds a tracker; ListSites shows them).
  DownloadBoard* downloads() { return &downloads_; }
  // Counts the bytes the aggregator works through; the gRPC layer adds each chunk it receives.
  WorkMeter* work() { return &work_; }

  // --- node-facing (role site) ---
  absl::StatusOr<v1::RegisterResponse> Register(const Caller& caller,
                                                const v1::RegisterRequest& request);
  absl::StatusOr<v1::PullTaskResponse> PullTask(const Caller& caller,
                                                const v1::PullTaskRequest& request = {});
  // The node is alive (and, with a task id, working on it).
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const Caller& caller,
                                                  const v1::HeartbeatRequest& request);
  // options.clock's time, for an enrolled, enabled site; changes nothing but the in-memory
  // "last seen" (the preflight's probe, node/preflight.h). Register and Heartbeat carry the
  // same time in their responses.
  absl::StatusOr<v1::ServerTimeResponse> ServerTime(const Caller& caller);
  // One phase of secure aggregation for the caller's open training task
  // (aggregator/server/secagg_rounds.h). The caller's TLS certificate is what the other sites
  // are given to check its key advert against.
  absl::StatusOr<v1::SecAggResponse> SecAgg(const Caller& caller, const v1::SecAggRequest& request);
  // The checkpoint a task of the caller refers to (`checkpoint_id` must match the task's).
  absl::StatusOr<protocol::TensorSet> TaskWeights(const Caller& caller, const std::string& task_id,
                                                  const std::string& checkpoint_id);
  // The checkpoint a task of the caller refers to, encoded once and shared by all downloads.
  absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> TaskCheckpoint(
      const Caller& caller, const std::string& task_id, const std::string& checkpoint_id);
  // Whether the caller may upload a result of header.task_id() and what its weights must look
  // like: identity, enrolment, the task being the caller's and still open. Nothing of the
  // upload's weights is read before this answers.
  absl::StatusOr<UploadPlan> AuthorizeUpload(const Caller& caller, const v1::UploadHeader& header);
  // How much of an upload the spool holds (resumable uploads), or that it is already accepted.
  // Answered without the federation's lock once this process has seen the site ask about, or
  // upload to, the task (UploadBoard): a node following its upload is not kept waiting while
  // another submission is verified or aggregated. Updates the site's last-seen time either way
  // (without the lock: through sightings_, absorbed by the next reader of liveness).
  absl::StatusOr<v1::UploadStatusResponse> UploadStatus(const Caller& caller,
                                                        const v1::UploadStatusRequest& request);
  // Accepts a result once; the same result again is answered duplicate=true.
  absl::StatusOr<v1::UploadResponse> SubmitResult(const Caller& caller,
                                                  const v1::UploadHeader& header,
                                                  std::optional<protocol::TensorSet> weights);
  // The same, for weights a gRPC upload spooled (verified, finite) before calling.
  absl::StatusOr<v1::UploadResponse> SubmitSpooled(const Caller& caller,
                                                   const v1::UploadHeader& header,
                                                   std::optional<SpooledWeights> weights);
  // Records the site's decision on a study (node/approvals.h). Pending or denied: no task of the
  // study is offered to the site; denied: its open tasks fail with the steward's reason.
  absl::StatusOr<v1::DecisionAck> ReportDecision(const Caller& caller,
                                                 const v1::StudyDecision& decision);

  // --- coordinator-facing (role coordinator) ---
  absl::StatusOr<v1::SiteInfo> EnrollSite(const Caller& caller, const v1::EnrollSiteRequest& req);
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const Caller& caller,
                                              const v1::SetSiteEnabledRequest& req);
  absl::StatusOr<v1::ListSitesResponse> ListSites(const Caller& caller);
  // Creates the study after checking it (sites enrolled, the kind's options, privacy options,
  // the initial model). With req.dry_run, runs every check and answers what it would create
  // without writing anything: no study, no round, no audit entry.
  absl::StatusOr<v1::StudyStatus> CreateStudy(const Caller& caller,
                                              const v1::CreateStudyRequest& req);
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const Caller& caller, const std::string& study_id);
  absl::StatusOr<v1::ListStudiesResponse> ListStudies(const Caller& caller);
  // Ends a running study (state FAILED, "aborted by <caller> in round <r>: <reason>"): the open
  // round's pending and issued tasks become kTaskCancelled, so their results are refused and
  // heartbeats answer task_current = false; its running aggregate is dropped. Refused for a
  // study that already ended, and without a reason.
  absl::StatusOr<v1::StudyStatus> AbortStudy(const Caller& caller,
                                             const v1::AbortStudyRequest& req);
  // Stores a model a training study may start from (plan.initial_model_sha256), every value
  // finite; idempotent by content. Its id is "model/<sha256>", outside every study.
  absl::StatusOr<v1::UploadModelResponse> UploadModel(const Caller& caller,
                                                      const protocol::TensorSet& weights);
  // PermissionDenied unless `caller` is an enabled coordinator: a stream is read only after.
  absl::Status AuthorizeCoordinator(const Caller& caller);
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
  // options.clock's time in Unix milliseconds, for the responses' server_time_unix_ms.
  int64_t NowUnixMillis();
  // Also records that the site was heard from (liveness).
  absl::Status RequireSite(const Caller& caller) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Online(const std::string& site_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The round deadline of a study: its round_timeout_s or the default, in whole seconds.
  int64_t RoundTimeoutSeconds(const v1::StudySpec& spec) const;
  absl::StatusOr<v1::PullTaskResponse> PullTaskLocked(const Caller& caller,
                                                      bool* awaits_own_approval)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Something a waiting PullTask may want: a study, a round, a decision, draining.
  void Changed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { ++generation_; }
  absl::Status RequireCoordinator(const Caller& caller) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenRound(StudyRecord& study, uint32_t round, const std::string& input_checkpoint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the study's open round when it is complete, or its deadline passed with enough
  // results (federation_rounds.cc); fails the study when it cannot complete.
  absl::Status MaybeCloseRound(StudyRecord& study, bool deadline_passed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The open round and its tasks' states, as MaybeCloseRound read them.
  struct RoundProgress {
    RoundRecord round;
    std::vector<TaskRecord> tasks;
    size_t done = 0;                  // tasks with a result
    std::vector<std::string> failed;  // sites that reported they could not do their task
    size_t needed = 0;                // results the round needs (1 for an init round)
    bool init_round = false;
  };
  // What a round's close reads: its results (with their weights unless streamed) and its input
  // model where the close needs it.
  struct RoundInputs {
    bool secure = false;
    bool secure_analysis = false;
    const AggregationStrategy* strategy = nullptr;  // null: the logic closes from the results
    std::vector<ResultRecord> results;
    std::string input_id;
    std::optional<protocol::TensorSet> input;
  };
  absl::Status FailStudy(StudyRecord& study, std::string message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status BringDeadlineForward(const StudyRecord& study, RoundProgress& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A deadline passed before every result: true when the round closes with what it has (the
  // late tasks expired); false when it waits once more or the study failed.
  absl::StatusOr<bool> SettleMissedDeadline(StudyRecord& study, RoundProgress& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A store error propagates (the transaction rolls back); an aggregation error fails the study.
  absl::Status CloseRound(StudyRecord& study, RoundProgress p,
                          const std::vector<RoundRecord>& history, const StudyLogic& logic)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<RoundInputs> LoadRoundInputs(const StudyRecord& study, const RoundProgress& p,
                                              const StudyLogic& logic, bool secure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<RoundOutcome> AggregateRound(const StudyRecord& study, const RoundProgress& p,
                                              const std::vector<RoundRecord>& history,
                                              const StudyLogic& logic, const RoundInputs& in)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores the outcome, prunes the round's uploads and opens the next round (or ends the study).
  absl::Status RecordClosedRound(StudyRecord& study, RoundProgress& p,
                                 const std::vector<ResultRecord>& results, RoundOutcome outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A spec's plan.initial_model_sha256: well formed, a kind that trains one model, uploaded.
  absl::Status CheckInitialModel(const v1::StudySpec& spec, const StudyLogic& logic)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes round 0 with the study's copy of its uploaded model and opens round 1 from it.
  absl::Status StartFromUploadedModel(StudyRecord& study) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<v1::Task>> NextTaskFor(const std::string& site_id,
                                                      const StudyRecord& study)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::StudyStatus> BuildStatus(const StudyRecord& study)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct ReceivedWeights {
    std::optional<protocol::TensorSet> in_memory;
    std::optional<SpooledWeights> spooled;
  };
  struct Aggregation;
  // An update claimed for a fold without mu_ (step 1 of an upload, see the class comment).
  struct FoldClaim {
    std::string study_id;
    std::shared_ptr<Aggregation> aggregation;
    const AggregationStrategy* strategy = nullptr;   // owned by the study's logic, or ring_sum_
    std::shared_ptr<const EncodedCheckpoint> input;  // the round's model
  };
  absl::StatusOr<v1::UploadResponse> Submit(const Caller& caller, const v1::UploadHeader& header,
                                            ReceivedWeights received) ABSL_LOCKS_EXCLUDED(mu_);
  // Checks a result and records it. With `claim` (the first call, step 1): when the update is to
  // be folded into a running aggregate, fills *claim and returns without writing anything.
  // Without (step 3, or a result that folds into nothing): checks again and records.
  absl::StatusOr<v1::UploadResponse> SubmitLocked(const Caller& caller,
                                                  const v1::UploadHeader& header,
                                                  const ReceivedWeights& received,
                                                  const std::string& digest,
                                                  std::optional<FoldClaim>* claim)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Step 3 refused a folded update: the aggregate is dropped, and the round closes if the
  // refusal left it complete (its task failed meanwhile, say).
  void AfterRefusedFold(const FoldClaim& claim) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A submission's answer once its transaction ended: a refusal audited, an acceptance put on
  // the board, the uploads of a round it closed deleted.
  absl::StatusOr<v1::UploadResponse> Answered(const Caller& caller, const v1::UploadHeader& header,
                                              const std::string& digest, const absl::Status& tx,
                                              absl::StatusOr<v1::UploadResponse> response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> CachedCheckpoint(
      const std::string& checkpoint_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Folds a stored result (spooled file, a tensor at a time, or database row) in.
  absl::Status FoldStored(RoundAccumulator& accumulator, const ResultRecord& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Secure aggregation (federation_secagg.cc): the settings of a round (nullopt: not securely
  // aggregated), opening its session, whether it may close (masking closed, unmasking done),
  // and the next model from the ring sum of its masked uploads.
  absl::StatusOr<std::optional<SecAggSettings>> SecAggOf(const StudyRecord& study, uint32_t round,
                                                         const StudyLogic& logic) const;
  absl::Status OpenSecAgg(const StudyRecord& study, const TaskRecord& task,
                          const SecAggSettings& settings) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `task` is one whose result a secure round sums (TRAIN of a training study, ANALYZE
  // of an analysis).
  static bool SecureTask(const StudyRecord& study, const TaskRecord& task);
  // An analysis round's masked vector layout (int64, protocol/wire/secure_sum.h) for its input.
  absl::StatusOr<protocol::TensorSet> SecureSumRingLayout(const StudyRecord& study,
                                                          const std::string& checkpoint_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks an analysis's masked vector (its layout, the clear part by the logic, the sender in
  // the session).
  absl::Status ValidateMaskedAnswer(const StudyRecord& study, const TaskRecord& task,
                                    const StudyLogic& logic, const v1::UploadHeader& header,
                                    const ReceivedWeights& received, const EncodedCheckpoint* input)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes a securely aggregated analysis round: the ring sum of the masked vectors in
  // `results` (loaded with their weights), unmasked, to the study's logic.
  absl::StatusOr<RoundOutcome> CloseSecureAnalysis(const StudyRecord& study, uint32_t round,
                                                   const StudyLogic& logic,
                                                   const protocol::TensorSet* input,
                                                   std::vector<ResultRecord> results,
                                                   const std::vector<RoundRecord>& history)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> SecAggReadyToClose(const StudyRecord& study, uint32_t round)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<protocol::TensorSet> UnmaskedModel(const StudyRecord& study, uint32_t round,
                                                    const std::vector<ResultRecord>& results,
                                                    const protocol::TensorSet& input,
                                                    const protocol::TensorSet& ring_sum)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the spooled uploads of rounds aggregated by a committed transaction.
  void FlushPrunedFiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The running aggregate an update of `task` (a streamed round's, the current round) folds
  // into: the round's, begun (empty) with the round's first result. Null when the round has
  // accepted results but no aggregate (lost to a restart or a refused fold): its close folds
  // every stored update then.
  std::shared_ptr<Aggregation> AggregationFor(const StudyRecord& study, const TaskRecord& task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Step 2: folds a claimed update into its aggregate, without mu_. A failure leaves the
  // aggregate broken (the close rebuilds it); the result is accepted all the same.
  void FoldClaimed(const FoldClaim& claim, const std::string& task_id, const std::string& site_id,
                   uint64_t num_samples, const ReceivedWeights& received) ABSL_LOCKS_EXCLUDED(mu_);
  // Sites heard from without mu_ (UploadStatus) into liveness_.
  void AbsorbSightings() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The new model of a streamed round: the running aggregate when it holds exactly the round's
  // accepted updates, else rebuilt from the store one update at a time; the strategy's state is
  // read from and written to the store (checkpoint "<study>/s<round>"). `input`: the round's
  // input model, decoded, or null when the strategy does not need it (decoded here only to
  // rebuild the aggregate after a restart).
  absl::StatusOr<protocol::TensorSet> FinishStreamedRound(
      const StudyRecord& study, const AggregationStrategy& strategy, uint32_t round,
      const std::vector<ResultRecord>& results, const std::string& input_id,
      const protocol::TensorSet* input) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckSampleCount(const StudyRecord& study, const TaskRecord& task,
                                const v1::UploadHeader& header) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  struct Liveness {
    int64_t last_seen_unix = 0;
    std::string activity;
    std::string task_id;  // the task the last heartbeat named
    bool dirty = false;   // last_seen not yet written to the store
  };
  std::map<std::string, Liveness> liveness_ ABSL_GUARDED_BY(mu_);
  // The running aggregate of a study's open streamed round. Folds take `mu` without the
  // federation's (one update at a time: a RoundAccumulator is not synchronised); the close takes
  // it under mu_ when no fold of the study is in flight.
  struct Aggregation {
    explicit Aggregation(uint32_t r) : round(r) {}
    const uint32_t round;
    absl::Mutex mu;
    std::unique_ptr<RoundAccumulator> accumulator ABSL_GUARDED_BY(mu);  // begun by the first fold
    std::set<std::string> folded ABSL_GUARDED_BY(mu);  // task ids, each folded exactly once
    bool broken ABSL_GUARDED_BY(mu) = false;  // a fold failed: the close rebuilds from the store
  };
  // Per study; shared with the folds in flight (an abort or a refused fold drops the map's
  // reference, a fold still running keeps its object alive and its result is not used).
  std::map<std::string, std::shared_ptr<Aggregation>> aggregations_ ABSL_GUARDED_BY(mu_);
  // Tasks claimed for a fold without mu_ (step 1 to step 3), and per study how many.
  std::set<std::string> claimed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> folding_ ABSL_GUARDED_BY(mu_);
  // Last-seen times of sites answered without mu_ (UploadStatus), absorbed into liveness_ by
  // whoever reads liveness under mu_. A leaf lock.
  absl::Mutex sightings_mu_;
  std::map<std::string, int64_t> sightings_ ABSL_GUARDED_BY(sightings_mu_);
  // Secure aggregation: the open sessions, and the strategy of their rounds.
  SecAggRounds secagg_ ABSL_GUARDED_BY(mu_);
  const RingSumStrategy ring_sum_;
  std::unique_ptr<UploadSpool> spool_;
  // What UploadStatus answers without mu_ (written under mu_).
  UploadBoard board_;
  DownloadBoard downloads_;
  WorkMeter work_;                  // UploadStatusResponse.work_token
  CheckpointCache checkpoints_{2};  // the open round's model and the one before
  // Tasks of rounds aggregated in the current transaction: their uploads are deleted after it
  // commits.
  std::vector<std::string> pruned_tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_FEDERATION_H_
