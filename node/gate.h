// TaskGate: the one place at the node that every task passes, whatever its kind, before it
// runs and before its result leaves.
//
//   approve  the study was approved at this site, by its steward or a pre-approval rule
//            (node/approvals.h); a task of a pending or denied study never runs;
//   admit    the task's kind is one this node runs (node/tasks/registry.h); its plug-in
//            declares, from the spec alone, what it will read and release (TaskDeclaration);
//            the declaration is checked against the site's policy: every variable allowed
//            (privacy::IsVariableAllowed), weights only where the site lets them leave, the
//            study's minimum cell count never below the site's;
//   run      the task reads the site's rows only through GatedDatasetSource, which hands out
//            the declared variables and outcome and nothing else, of the declared part of the
//            site's own split, and refuses a cohort smaller than the minimum count, one that
//            differs from another study's by fewer than the minimum count, and one beyond the
//            site's budget of studies over the same variables (node/cohort_guard.h);
//   release  what the task produced is checked against its declaration (no weights unless
//            declared and allowed; finite metrics); weights of a study under differential
//            privacy are clipped and noised, within the site's epsilon (node/dp_filter.h:
//            admitted before the task runs, applied after; under DP-SGD the gate posts the
//            terms the plug-in trains with instead, node/tasks/dp_sgd_terms.h); the release is
//            written to the egress ledger before it is handed to the agent to send; nothing
//            leaves without a ledger entry.
//
// Refusals are PermissionDenied or FailedPrecondition with a failure code
// (protocol/failure_code.h); the agent reports only the code and the policy's numbers to the
// aggregator. Messages name the rule and the variable or tensor, never a value.
//
// Thread safety: not thread-safe; the node runs one task at a time.
#ifndef SCANCOV_NODE_GATE_H_
#define SCANCOV_NODE_GATE_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "node/approvals.h"
#include "node/cohort_guard.h"
#include "node/dp_filter.h"
#include "node/tabular_features.h"
#include "node/tasks/task_plugin.h"
#include "privacy/egress_ledger.h"
#include "privacy/release_policy.h"
#include "protocol/scancov.pb.h"

namespace scancov::node {

// The gate's view of a site's tabular data: between Open and Close, Load hands out only the
// declared variables (those the site allows) and the declared outcome; outside a task, nothing.
class GatedDatasetSource : public DatasetSource {
 public:
  // `inner` and `guard` must outlive this source; without a guard (tests of other parts)
  // cohorts are not compared across studies. `split_key`: the site's (NodeContext).
  GatedDatasetSource(DatasetSource* inner, CohortGuard* guard, CohortLimits limits,
                     uint64_t split_key)
      : inner_(inner), guard_(guard), limits_(limits), split_key_(split_key) {}
  explicit GatedDatasetSource(DatasetSource* inner) : GatedDatasetSource(inner, nullptr, {}, 0) {}

  // `min_rows`: the fewest rows a read may return (the site's minimum count, or more).
  void Open(const v1::Task& task, const TaskDeclaration& declaration,
            const privacy::ReleasePolicy& policy, int64_t min_rows);
  void Close();

  // PermissionDenied for an undeclared or kept-back variable, another outcome, or no task
  // open, and from the cohort guard; FailedPrecondition when fewer rows than the minimum count
  // have the outcome known in the declared part.
  absl::StatusOr<TabularRows> Load(const std::vector<std::string>& variables,
                                   const std::string& outcome) override;

 private:
  DatasetSource* inner_;
  CohortGuard* guard_;
  CohortLimits limits_;
  uint64_t split_key_;
  bool open_ = false;
  std::set<std::string> variables_;
  std::string outcome_;
  std::string part_ = "all";
  bool complete_cases_ = false;
  double holdout_fraction_ = 0.19;
  std::string study_id_;
  std::string task_id_;
  int64_t min_rows_ = 0;
};

struct GateOptions {
  Clock* clock = Clock::Real();
  std::string destination;  // the aggregator's address, for the ledger
  privacy::ReleasePolicy policy;
  bool allow_model_weights = true;
  GatedDatasetSource* tabular = nullptr;  // the plug-ins' tabular source (may be null)
  // The site's approvals (node/approvals.h) and pre-approval rules. Null: no approval step,
  // every admitted task runs (unit tests of other parts only; scancov-node always has one).
  ApprovalBook* approvals = nullptr;
  std::vector<ApprovalRule> approval_rules;
  // Differential privacy (node/dp_filter.h): the site's maximum, the ledger of what it spent
  // (null: accounted in memory; tests of other parts) and the noise (null: a CSPRNG).
  DpSitePolicy dp;
  privacy::dp::DpLedger* dp_ledger = nullptr;
  std::shared_ptr<privacy::dp::GaussianSource> dp_noise;
  // Where the DP-SGD terms of a dp_sgd task are posted for its plug-in (the task host's; null:
  // dp_sgd studies are refused).
  DpSgdBoard* dp_sgd = nullptr;
};

// What leaves for one task: the upload header, the weights, and the ledger entry recording them.
struct Release {
  v1::UploadHeader header;
  std::optional<protocol::TensorSet> weights;
  int64_t ledger_entry = 0;  // 0 without a ledger
  std::string summary_json;  // the statistics in clear, as recorded in the ledger
};

class TaskGate {
 public:
  // `ledger` may be null (tests); then nothing is recorded.
  TaskGate(GateOptions options, TaskPlugins plugins, privacy::EgressLedger* ledger);

  // Admits, runs and checks `task`; `global` is its downloaded checkpoint or null. The result
  // is in the ledger (pending) when this returns it. An exception from a plug-in becomes an
  // error (InvalidArgument naming it; ResourceExhausted for std::bad_alloc, which may pass).
  // With `progress`, the plug-in runs tracked (TaskRunner::RunTracked); once `progress` is
  // cancelled, Cancelled with its reason: nothing is recorded or released, and no privacy
  // budget is spent.
  absl::StatusOr<Release> Run(const v1::Task& task, const protocol::TensorSet* global,
                              Progress* progress = nullptr);
  // The report that the task failed here instead of a result, recorded likewise: only the
  // failure code of `why` and its policy numbers (protocol/failure_code.h), never its text.
  absl::StatusOr<Release> Failure(const v1::Task& task, const absl::Status& why);
  // Secure aggregation sends `masked` with `header` (node/secagg_session.h, SecAggPayloadOf)
  // instead of `plain`: the ledger gets an entry for what will actually leave (the masked
  // tensors, their hash, the header's statistics in clear), and `plain`'s entry is marked
  // "withheld" (it never leaves in clear).
  absl::StatusOr<Release> RecordMasked(const v1::Task& task, const Release& plain,
                                       const v1::UploadHeader& header, protocol::TensorSet masked);
  // Records what became of a release ("sent", "duplicate", "failed").
  void MarkOutcome(const Release& release, const std::string& state, const std::string& detail);

  // The node's own messages in the ledger (node/control_egress.h: a Register, a task's
  // heartbeats, a decision report): an entry of `kind` recorded 'pending' before the first message
  // leaves; its id (0 without a ledger).
  absl::StatusOr<int64_t> RecordControl(const std::string& kind, const std::string& task_id,
                                        uint64_t bytes, const std::string& summary_json);
  // What left under entry `id` once known, and its outcome; nothing for id 0, errors logged.
  void CompleteControl(int64_t id, uint64_t bytes, const std::string& summary_json,
                       const std::string& state, const std::string& detail);
  // Marks 'interrupted' every heartbeat, register or decision entry still 'pending': its node
  // stopped (was killed) before the task ended or the aggregator answered, so how many beats left
  // is not known. Called when the node starts, before anything is sent; returns how many.
  absl::StatusOr<int> MarkInterruptedControl();

  // The declaration `task` would be admitted with, or why it would not be.
  absl::StatusOr<TaskDeclaration> Admit(const v1::Task& task) const;
  // The site's decision on the task's study: recorded, by rule, or a new pending request
  // (recorded, with its summary for the steward). Approved when there is no approval step.
  absl::StatusOr<ApprovalRecord> Approval(const v1::Task& task);
  // Decisions the aggregator has not heard of yet (the steward decides in another process),
  // and marking one reported.
  absl::StatusOr<std::vector<ApprovalRecord>> UnreportedDecisions();
  void MarkReported(const ApprovalRecord& record);

 private:
  absl::StatusOr<TaskOutcome> RunAdmitted(TaskPlugin& plugin, const TaskDeclaration& declaration,
                                          const v1::Task& task, const protocol::TensorSet* global,
                                          Progress* progress);
  absl::Status CheckRelease(const TaskDeclaration& declaration, const TaskOutcome& outcome) const;
  absl::StatusOr<Release> Record(const v1::Task& task, Release release, const std::string& kind,
                                 const std::string& summary_json);

  GateOptions options_;
  DpFilter dp_;
  TaskPlugins plugins_;
  privacy::EgressLedger* ledger_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_GATE_H_
