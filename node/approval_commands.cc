#include "node/approval_commands.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

std::string When(int64_t unix) {
  if (unix == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(unix),
                          absl::UTCTimeZone());
}

nlohmann::json ToJson(const ApprovalRecord& r) {
  return {{"study_id", r.study_id},
          {"spec_sha256", r.spec_sha256},
          {"study_kind", r.study_kind},
          {"decision", DecisionName(r.decision)},
          {"decided_by", r.decided_by},
          {"reason", r.reason},
          {"summary", r.summary},
          {"spec_json", r.spec_json},
          {"plan", r.plan},
          {"min_cohort", r.min_cohort},
          {"requested_unix", r.requested_unix},
          {"decided_unix", r.decided_unix},
          {"reported", r.reported}};
}

}  // namespace

absl::Status PrintRequests(const ApprovalBook& book, bool only_pending, bool json,
                           std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(std::vector<ApprovalRecord> all, book.List());
  std::stable_partition(all.begin(), all.end(),
                        [](const ApprovalRecord& r) { return r.decision == Decision::kPending; });
  nlohmann::json list = nlohmann::json::array();
  for (const ApprovalRecord& r : all) {
    if (only_pending && r.decision != Decision::kPending) continue;
    if (json) {
      list.push_back(ToJson(r));
      continue;
    }
    out << absl::StrFormat("%s  %s  requested %s\n", r.study_id, DecisionName(r.decision),
                           When(r.requested_unix));
    if (r.decision != Decision::kPending) {
      out << absl::StrFormat("    %s by %s on %s%s\n", DecisionName(r.decision), r.decided_by,
                             When(r.decided_unix), r.reason.empty() ? "" : ": " + r.reason);
    }
    out << "    " << r.summary << "\n";
    out << "    spec (sha256 " << r.spec_sha256 << "): " << r.spec_json << "\n";
    if (!r.plan.empty()) out << "    training plan: " << r.plan << "\n";
  }
  if (json) out << list.dump(2) << "\n";
  if (!json && list.empty() && all.empty()) out << "no study has asked to run at this site\n";
  return absl::OkStatus();
}

absl::Status DecideRequest(ApprovalBook& book, const std::string& study_id,
                           const std::string& sha256, bool approve, const std::string& reason,
                           int64_t now_unix, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(ApprovalRecord r, approve ? book.Approve(study_id, sha256, now_unix)
                                                 : book.Deny(study_id, sha256, reason, now_unix));
  out << absl::StrFormat(
      "%s: %s (spec sha256 %s)%s; the running node reports it at its next step\n", r.study_id,
      DecisionName(r.decision), r.spec_sha256, r.reason.empty() ? "" : ": " + r.reason);
  return absl::OkStatus();
}

}  // namespace scancov::node
