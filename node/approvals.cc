#include "node/approvals.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <google/protobuf/text_format.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/sha256.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

template <typename Fn>
auto Sql(const char* what, Fn&& fn) -> decltype(fn()) {
  return sqlite::Guard(absl::StrCat("approvals: ", what), std::forward<Fn>(fn));
}

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

Decision DecisionFromName(const std::string& s) {
  if (s == "approved") return Decision::kApproved;
  if (s == "denied") return Decision::kDenied;
  return Decision::kPending;
}

ApprovalRecord FromRow(SQLite::Statement& q) {
  ApprovalRecord r;
  r.study_id = q.getColumn(0).getString();
  r.spec_sha256 = q.getColumn(1).getString();
  r.study_kind = q.getColumn(2).getString();
  r.spec_json = q.getColumn(3).getString();
  r.plan = q.getColumn(4).getString();
  r.summary = q.getColumn(5).getString();
  r.decision = DecisionFromName(q.getColumn(6).getString());
  r.decided_by = q.getColumn(7).getString();
  r.reason = q.getColumn(8).getString();
  r.min_cohort = q.getColumn(9).getInt64();
  r.requested_unix = q.getColumn(10).getInt64();
  r.decided_unix = q.getColumn(11).getInt64();
  r.reported = q.getColumn(12).getInt() != 0;
  return r;
}

constexpr char kColumns[] =
    "study_id, spec_sha256, study_kind, spec_json, plan, summary, decision, decided_by, reason, "
    "min_cohort, requested_unix, decided_unix, reported";

}  // namespace

StudyRequest RequestOf(const v1::Task& task) {
  StudyRequest r;
  r.study_id = task.study_id();
  r.study_kind = task.study_kind();
  r.spec_json = task.spec_json();
  if (task.has_plan()) {
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.PrintToString(task.plan(), &r.plan);
  }
  r.held_out_site = task.held_out_site();
  std::string bytes;
  for (const std::string* f : {&r.study_id, &r.study_kind, &r.spec_json, &r.plan}) {
    absl::StrAppend(&bytes, f->size(), ":", *f, ";");
  }
  absl::StrAppend(&bytes, r.held_out_site ? "held_out" : "trains");
  r.sha256 = ToHex(Sha256Digest(bytes));
  return r;
}

bool RuleCovers(const ApprovalRule& rule, const std::string& kind,
                const TaskDeclaration& declaration, std::string* why_not) {
  auto no = [&](std::string why) {
    if (why_not != nullptr) *why_not = std::move(why);
    return false;
  };
  if (!Contains(rule.kinds, kind)) return no(absl::StrCat("kind ", kind, " not covered"));
  for (const std::string& v : declaration.variables) {
    if (!Contains(rule.variables, v)) return no(absl::StrCat("variable ", v, " not covered"));
  }
  if (!declaration.outcome.empty() && !Contains(rule.outcomes, declaration.outcome)) {
    return no(absl::StrCat("outcome ", declaration.outcome, " not covered"));
  }
  if (declaration.reads_ct && !rule.ct) return no("CT series not covered");
  if (declaration.releases_weights && !rule.model_weights) return no("model weights not covered");
  return true;
}

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kApproved:
      return "approved";
    case Decision::kDenied:
      return "denied";
    case Decision::kPending:
      break;
  }
  return "pending";
}

std::string DescribeRequest(const std::string& kind, const TaskDeclaration& d) {
  std::string reads;
  if (!d.variables.empty()) {
    absl::StrAppend(&reads, d.variables.size(), " variable(s): ", absl::StrJoin(d.variables, ", "));
  }
  if (!d.outcome.empty()) {
    absl::StrAppend(&reads, reads.empty() ? "" : "; ", "the outcome '", d.outcome,
                    "' (the cohort is the patients for whom it is known)");
  }
  if (d.reads_ct) absl::StrAppend(&reads, reads.empty() ? "" : "; ", "CT series and their labels");
  if (reads.empty()) reads = "nothing from the site's data";
  return absl::StrCat(
      "A ", kind, " study. Reads ", reads, ". Releases ",
      d.releases_weights ? "model weights (trained on these data) and summary statistics"
                         : "summary statistics only (no model weights)",
      d.requested_min_cell_count > 0
          ? absl::StrCat("; the study asks for a minimum cell count of ",
                         d.requested_min_cell_count, " (the site's own applies if larger)")
          : "",
      ".");
}

absl::StatusOr<std::optional<ApprovalRecord>> ApprovalBook::Get(const std::string& study_id,
                                                                const std::string& sha256) const {
  return Sql("read", [&]() -> absl::StatusOr<std::optional<ApprovalRecord>> {
    SQLite::Statement q(store_->db(), absl::StrCat("SELECT ", kColumns,
                                                   " FROM study_approvals WHERE study_id = ? AND "
                                                   "spec_sha256 = ?"));
    q.bind(1, study_id);
    q.bind(2, sha256);
    if (!q.executeStep()) return std::optional<ApprovalRecord>();
    return std::optional<ApprovalRecord>(FromRow(q));
  });
}

absl::Status ApprovalBook::Put(const ApprovalRecord& r) {
  return Sql("write", [&]() -> absl::Status {
    SQLite::Statement q(store_->db(),
                        absl::StrCat("INSERT OR REPLACE INTO study_approvals(", kColumns,
                                     ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    q.bind(1, r.study_id);
    q.bind(2, r.spec_sha256);
    q.bind(3, r.study_kind);
    q.bind(4, r.spec_json);
    q.bind(5, r.plan);
    q.bind(6, r.summary);
    q.bind(7, DecisionName(r.decision));
    q.bind(8, r.decided_by);
    q.bind(9, r.reason);
    q.bind(10, r.min_cohort);
    q.bind(11, r.requested_unix);
    q.bind(12, r.decided_unix);
    q.bind(13, r.reported ? 1 : 0);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<ApprovalRecord> ApprovalBook::Decide(const StudyRequest& request,
                                                    const TaskDeclaration& declaration,
                                                    const std::vector<ApprovalRule>& rules,
                                                    const std::string& summary, int64_t now_unix) {
  SCV_ASSIGN_OR_RETURN(std::optional<ApprovalRecord> known, Get(request.study_id, request.sha256));
  if (known) return *known;
  ApprovalRecord r;
  r.study_id = request.study_id;
  r.spec_sha256 = request.sha256;
  r.study_kind = request.study_kind;
  r.spec_json = request.spec_json;
  r.plan = request.plan;
  r.summary = summary;
  r.requested_unix = now_unix;
  for (const ApprovalRule& rule : rules) {
    if (!RuleCovers(rule, request.study_kind, declaration)) continue;
    r.decision = Decision::kApproved;
    r.decided_by = absl::StrCat("rule:", rule.name);
    r.min_cohort = rule.min_cohort;
    r.decided_unix = now_unix;
    break;
  }
  SCV_RETURN_IF_ERROR(Put(r));
  return r;
}

absl::StatusOr<std::vector<ApprovalRecord>> ApprovalBook::List(
    std::optional<Decision> decision) const {
  return Sql("list", [&]() -> absl::StatusOr<std::vector<ApprovalRecord>> {
    SQLite::Statement q(store_->db(),
                        absl::StrCat("SELECT ", kColumns,
                                     " FROM study_approvals ORDER BY requested_unix DESC, "
                                     "study_id"));
    std::vector<ApprovalRecord> out;
    while (q.executeStep()) {
      ApprovalRecord r = FromRow(q);
      if (!decision || r.decision == *decision) out.push_back(std::move(r));
    }
    return out;
  });
}

absl::StatusOr<ApprovalRecord> ApprovalBook::Resolve(const std::string& study_id,
                                                     const std::string& sha256) {
  SCV_ASSIGN_OR_RETURN(std::vector<ApprovalRecord> pending, List(Decision::kPending));
  std::vector<ApprovalRecord> match;
  for (ApprovalRecord& r : pending) {
    if (r.study_id == study_id && (sha256.empty() || r.spec_sha256 == sha256)) {
      match.push_back(std::move(r));
    }
  }
  if (match.empty()) {
    return absl::NotFoundError(absl::StrCat("no pending request of study '", study_id, "'",
                                            sha256.empty() ? "" : " with that spec hash"));
  }
  if (match.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "study '", study_id, "' has ", match.size(),
        " pending requests (its spec changed): name the one you decide with --sha256"));
  }
  return match[0];
}

absl::StatusOr<ApprovalRecord> ApprovalBook::Approve(const std::string& study_id,
                                                     const std::string& sha256, int64_t now_unix) {
  SCV_ASSIGN_OR_RETURN(ApprovalRecord r, Resolve(study_id, sha256));
  r.decision = Decision::kApproved;
  r.decided_by = "steward";
  r.decided_unix = now_unix;
  r.reported = false;
  SCV_RETURN_IF_ERROR(Put(r));
  return r;
}

absl::StatusOr<ApprovalRecord> ApprovalBook::Deny(const std::string& study_id,
                                                  const std::string& sha256,
                                                  const std::string& reason, int64_t now_unix) {
  SCV_ASSIGN_OR_RETURN(ApprovalRecord r, Resolve(study_id, sha256));
  r.decision = Decision::kDenied;
  r.decided_by = "steward";
  r.reason = reason;
  r.decided_unix = now_unix;
  r.reported = false;
  SCV_RETURN_IF_ERROR(Put(r));
  return r;
}

absl::StatusOr<std::vector<ApprovalRecord>> ApprovalBook::Unreported() const {
  SCV_ASSIGN_OR_RETURN(std::vector<ApprovalRecord> all, List());
  std::vector<ApprovalRecord> out;
  for (ApprovalRecord& r : all) {
    if (!r.reported) out.push_back(std::move(r));
  }
  return out;
}

absl::Status ApprovalBook::MarkReported(const std::string& study_id, const std::string& sha256) {
  return Sql("mark reported", [&]() -> absl::Status {
    SQLite::Statement q(store_->db(),
                        "UPDATE study_approvals SET reported = 1 WHERE study_id = ? AND "
                        "spec_sha256 = ?");
    q.bind(1, study_id);
    q.bind(2, sha256);
    q.exec();
    return absl::OkStatus();
  });
}

}  // namespace scancov::node
