// What scancov-node's store commands print (import-clinical's summary, status, ledger), over
// the node's store opened by the caller. Text for the site's operator: pseudonymous keys and
// counts only, never a patient identifier.
//
// Not thread-safe (the store is the caller's, used from one thread here).
#ifndef SCANCOV_NODE_NODE_COMMANDS_H_
#define SCANCOV_NODE_NODE_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "node/clinical/clinical_import.h"
#include "node/store/node_store.h"

namespace scancov::node {

// "<csv>: N rows read, P patients imported, S rows skipped", then each skipped row's reason and
// each dropped identifier column, one per line.
std::string ClinicalImportSummaryText(const std::string& csv, const ClinicalImportReport& report);

// Who the node is, as `status` prints it.
struct NodeIdentity {
  std::string site_id;
  std::string aggregator;  // host:port
  std::string store;       // the store's path
};

// The site and its aggregator, how many patients and CT series the store holds, the bytes sent
// so far (egress ledger) and the 10 most recent tasks.
absl::StatusOr<std::string> NodeStatusText(NodeStore& store, const NodeIdentity& node);

// The egress ledger's entries (the last `limit`; 0: all), each with its time (UTC), kind,
// destination, task ("-" for none), state, bytes and payload hash, then what was sent: a
// result's or failure's statistics and tensors, a registration's fields, a task's heartbeats
// in words (node/control_egress.h: count, bytes, times, the distinct stage texts), and the
// entry's detail when it has one.
absl::StatusOr<std::string> EgressLedgerText(NodeStore& store, size_t limit);

// The same two as JSON for scripts (`--json`): status an object {"site_id", "aggregator",
// "store", "patients", "ct_series", "egress_bytes", "recent_tasks": [{"task_id", "kind",
// "state", "started_unix", "finished_unix", "detail"}]}; the ledger an array, oldest first, of
// {"id", "created_unix", "created_utc" (ISO 8601), "kind", "destination", "task_id", "state",
// "detail", "payload_bytes", "payload_sha256" (null without weights), "statistics" and
// "tensors" (the JSON that was recorded, as JSON; null when absent: for a "register" entry the
// request's fields, for a "heartbeat" entry the beats' summary, node/control_egress.h)}.
absl::StatusOr<std::string> NodeStatusJson(NodeStore& store, const NodeIdentity& node);
absl::StatusOr<std::string> EgressLedgerJson(NodeStore& store, size_t limit);

// Per (variables, outcome) read by studies: how many studies and rounds used it, against the
// site's budget (node/cohort_guard.h), the spent ones marked.
absl::StatusOr<std::string> BudgetText(NodeStore& store, int64_t max_studies, int64_t max_rounds);
// What the site has spent under differential privacy (node/dp_filter.h, the DP ledger) at
// `delta`, against its maximum (0: none).
absl::StatusOr<std::string> DpBudgetText(NodeStore& store, double max_epsilon, double delta);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_NODE_COMMANDS_H_
