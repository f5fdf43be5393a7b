// `scancov-coord audit`: reads the aggregator's whole audit log page by page, verifies its hash
// chain here, at the coordinator (protocol/audit.h), and prints it; the head hash it prints can
// be kept and compared with a later run (`--expect-head`) to detect a log cut short.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_AUDIT_COMMAND_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_AUDIT_COMMAND_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// One page of the log after `after_seq` (CoordinatorClient::ReadAudit, or a Federation in tests).
using AuditPageReader = std::function<absl::StatusOr<v1::ReadAuditResponse>(int64_t after_seq)>;

struct AuditReport {
  std::vector<v1::AuditEntry> entries;
  std::string head_hash;
};

// Reads every page and verifies the chain: DataLoss naming the first entry that does not
// verify; with `expect_head` (a head hash recorded earlier), also FailedPrecondition when that
// entry is no longer in the log (the log was cut or rewritten).
absl::StatusOr<AuditReport> ReadAndVerifyAudit(const AuditPageReader& read,
                                               const std::string& expect_head = "");

// One line per entry (or a JSON list), then the head.
void PrintAudit(const AuditReport& report, bool json, std::ostream& out);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_AUDIT_COMMAND_H_
