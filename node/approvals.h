// Study approval at the site. A study reaches the node as a request: its id, kind and exact spec
// (StudyRequest, identified by the SHA-256 of those bytes). Nothing of it runs until the request
// is approved, by the steward (`scancov-node approve`) or by one of the site's pre-approval
// rules (site file, "approval": {"rules": [...]}); a denied request never runs, and its reason
// goes back to the coordinator. A changed spec is a new request (another hash), so approving a
// study never approves a later version of it.
//
// Rules: a rule names the kinds it covers (never "all": a rule without kinds is refused when the
// site file is read), the variables and outcomes a study of those kinds may read, whether it may
// read CT series and release model weights, and a minimum cohort: the gate then hands a task so
// approved no fewer rows than that. A request matches a rule when everything its declaration
// reads and releases is within the rule.
//
// Storage: table `study_approvals` in the node's store (node/store), one row per (study_id,
// spec_sha256), with the summary the steward was shown, the decision, who decided, when, why, and
// whether the decision has been reported to the aggregator.
//
// Thread safety: not thread-safe; the node agent and the steward's commands use it from one
// thread each (SQLite serialises their writes).
#ifndef SCANCOV_NODE_APPROVALS_H_
#define SCANCOV_NODE_APPROVALS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/store/node_store.h"
#include "node/tasks/task_plugin.h"
#include "protocol/scancov.pb.h"
#include "sites/config/site_config.h"

namespace scancov::node {

// What a steward approves: the study, its kind and the exact spec a task of it carries.
struct StudyRequest {
  std::string study_id;
  std::string study_kind;
  std::string spec_json;
  std::string plan;  // the training plan, as protobuf text ("" for analyses)
  bool held_out_site = false;
  std::string sha256;  // hex, over the fields above (length-prefixed)
};

StudyRequest RequestOf(const v1::Task& task);

using sites::ApprovalRule;  // the site file's pre-approval rule (sites/config/site_config.h)

// Whether `rule` covers a study of `kind` declaring `declaration`; when not, why (for the log).
bool RuleCovers(const ApprovalRule& rule, const std::string& kind,
                const TaskDeclaration& declaration, std::string* why_not = nullptr);

enum class Decision { kPending, kApproved, kDenied };
const char* DecisionName(Decision d);

struct ApprovalRecord {
  std::string study_id;
  std::string spec_sha256;
  std::string study_kind;
  std::string spec_json;
  std::string plan;
  std::string summary;  // in words: what it reads and releases
  Decision decision = Decision::kPending;
  std::string decided_by;  // "rule:<name>" or "steward"
  std::string reason;      // the steward's reason for a denial
  int64_t min_cohort = 0;
  int64_t requested_unix = 0;
  int64_t decided_unix = 0;
  bool reported = false;  // the decision has reached the aggregator
};

class ApprovalBook {
 public:
  // `store` must outlive the book (its table: node/store/node_schema.cc).
  explicit ApprovalBook(NodeStore* store) : store_(store) {}

  // The request's decision: the recorded one; else the first rule that covers it (recorded as
  // approved by that rule); else a new pending request, recorded with `summary`.
  absl::StatusOr<ApprovalRecord> Decide(const StudyRequest& request, const TaskDeclaration& d,
                                        const std::vector<ApprovalRule>& rules,
                                        const std::string& summary, int64_t now_unix);

  // Requests, newest first; `decision` filters when given.
  absl::StatusOr<std::vector<ApprovalRecord>> List(std::optional<Decision> decision = {}) const;
  // The steward's decision on the pending request of `study_id` (the one with `sha256` when
  // given: NotFound if none; FailedPrecondition if several are pending and none is named).
  absl::StatusOr<ApprovalRecord> Approve(const std::string& study_id, const std::string& sha256,
                                         int64_t now_unix);
  absl::StatusOr<ApprovalRecord> Deny(const std::string& study_id, const std::string& sha256,
                                      const std::string& reason, int64_t now_unix);
  // Decisions (pending included) not yet reported to the aggregator, and marking one reported.
  absl::StatusOr<std::vector<ApprovalRecord>> Unreported() const;
  absl::Status MarkReported(const std::string& study_id, const std::string& sha256);

 private:
  absl::StatusOr<std::optional<ApprovalRecord>> Get(const std::string& study_id,
                                                    const std::string& sha256) const;
  absl::Status Put(const ApprovalRecord& record);
  absl::StatusOr<ApprovalRecord> Resolve(const std::string& study_id, const std::string& sha256);
  NodeStore* store_;
};

// The steward's summary of a request, in words: the kind, what is read (variables, outcome,
// CT), what is released (statistics only, or model weights too) and the minimum count asked.
std::string DescribeRequest(const std::string& kind, const TaskDeclaration& declaration);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_APPROVALS_H_
