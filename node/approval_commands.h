// The steward's side of study approval (node/approvals.h), as `scancov-node pending`,
// `approve` and `deny` run it: what each request reads and releases, in words, with its exact
// spec and hash; a decision recorded at the node, which the running node reports to the
// aggregator at its next step.
#ifndef SCANCOV_NODE_APPROVAL_COMMANDS_H_
#define SCANCOV_NODE_APPROVAL_COMMANDS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "node/approvals.h"

namespace scancov::node {

// Every request (pending first), or only the pending ones; as text, or as a JSON list.
absl::Status PrintRequests(const ApprovalBook& book, bool only_pending, bool json,
                           std::ostream& out);
// Approves or denies the pending request of `study_id` (the one with `sha256` when several
// versions of it are pending) and says what was recorded.
absl::Status DecideRequest(ApprovalBook& book, const std::string& study_id,
                           const std::string& sha256, bool approve, const std::string& reason,
                           int64_t now_unix, std::ostream& out);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_APPROVAL_COMMANDS_H_
