#include "aggregator/coordinator/audit_command.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "core/status_macros.h"
#include "protocol/audit.h"

namespace scancov::aggregator {

absl::StatusOr<AuditReport> ReadAndVerifyAudit(const AuditPageReader& read,
                                               const std::string& expect_head) {
  AuditReport report;
  int64_t after = 0;
  while (true) {
    SCV_ASSIGN_OR_RETURN(v1::ReadAuditResponse page, read(after));
    report.head_hash = page.head_hash();
    if (page.entries().empty()) break;
    for (const v1::AuditEntry& e : page.entries()) report.entries.push_back(e);
    after = report.entries.back().seq();
    if (after >= page.last_seq()) break;
  }
  SCV_RETURN_IF_ERROR(protocol::VerifyAuditChain(report.entries, protocol::kAuditGenesis));
  if (!report.entries.empty() && report.head_hash != report.entries.back().hash()) {
    return absl::DataLossError("audit log: the head the aggregator names is not its last entry");
  }
  if (!expect_head.empty()) {
    bool found = false;
    for (const v1::AuditEntry& e : report.entries) found = found || e.hash() == expect_head;
    if (!found) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit log: the head recorded earlier (", expect_head,
                       ") is no longer in the log: it was cut short or rewritten"));
    }
  }
  return report;
}

void PrintAudit(const AuditReport& report, bool json, std::ostream& out) {
  if (json) {
    std::vector<std::string> items;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    for (const v1::AuditEntry& e : report.entries) {
      std::string one;
      (void)google::protobuf::util::MessageToJsonString(e, &one, options);
      items.push_back(one);
    }
    out << "[" << absl::StrJoin(items, ",\n ") << "]\n";
    return;
  }
  for (const v1::AuditEntry& e : report.entries) {
    out << absl::StrFormat("#%d %s %s:%s %s%s%s%s%s\n", e.seq(),
                           absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(e.at_unix()),
                                            absl::UTCTimeZone()),
                           e.actor_role(), e.actor_id().empty() ? "-" : e.actor_id(), e.action(),
                           e.study_id().empty() ? "" : " study=" + e.study_id(),
                           e.site_id().empty() ? "" : " site=" + e.site_id(),
                           e.task_ids().empty() ? "" : " tasks=" + absl::StrJoin(e.task_ids(), ","),
                           e.detail().empty() ? "" : " (" + e.detail() + ")");
  }
  out << absl::StrFormat("%d entries; the chain verifies; head %s\n", report.entries.size(),
                         report.head_hash);
}

}  // namespace scancov::aggregator
