// EgressLedger: the data steward's record of every byte that left the node.
//
// Before a node sends a result it records what is about to leave (destination, task, the
// number of bytes and SHA-256 of the weights payload, the tensor names and shapes, and the
// summary statistics in clear); after the aggregator answers, the entry is marked sent or
// refused. Nothing leaves without an entry, so the ledger can only over-report (an entry whose
// send failed stays 'pending' or 'failed', never missing).
//
// The node's own messages are entries too (node/control_egress.h): a Register ("register":
// the fields it carried) and a task's heartbeats ("heartbeat": recorded before the first beat
// leaves, then amended with their count, bytes and texts when the task ends; one the node did
// not live to amend is marked 'interrupted' at its next start).
//
// Stored in the node's SQLite database, table `egress` (CreateSchema; the node's store calls it
// when it opens, node/store/node_store.h):
//   egress(id PK, created_unix, destination, task_id, kind, payload_bytes, payload_sha256,
//          tensors_json, summary_json, state 'pending'|'sent'|'duplicate'|'failed'|'withheld'|
//          'interrupted', detail)
//
// Thread safety: not thread-safe; one node agent owns it.
#ifndef SCANCOV_PRIVACY_EGRESS_LEDGER_H_
#define SCANCOV_PRIVACY_EGRESS_LEDGER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace SQLite {
class Database;
}

namespace scancov::privacy {

struct EgressEntry {
  int64_t id = 0;
  int64_t created_unix = 0;
  std::string destination;  // aggregator address
  std::string task_id;
  // "result", "failure" (a task the site could not do), "heartbeat" (one task's beats),
  // "register" (one registration)
  std::string kind;
  uint64_t payload_bytes = 0;  // weights payload (0 without weights) + summary bytes
  std::string payload_sha256;  // hex, weights payload; empty without weights
  std::string tensors_json;    // [{"name":..., "shape":[...], "dtype":...}]
  std::string summary_json;    // metrics, counts and statistics sent in clear
  std::string state = "pending";
  std::string detail;
};

class EgressLedger {
 public:
  // Creates table `egress` if absent.
  static absl::Status CreateSchema(SQLite::Database& db);

  // `db` holds table `egress` (CreateSchema) and must outlive the ledger.
  explicit EgressLedger(SQLite::Database& db) : db_(&db) {}

  // Records an entry in state 'pending'; returns its id.
  absl::StatusOr<int64_t> Record(const EgressEntry& entry);
  absl::Status MarkOutcome(int64_t id, const std::string& state, const std::string& detail);
  // Rewrites what entry `id` says left (bytes and summary) along with its outcome: for an entry
  // recorded before a stream of messages whose sum is known only at its end (heartbeats).
  // NotFound for an unknown id.
  absl::Status Amend(int64_t id, uint64_t payload_bytes, const std::string& summary_json,
                     const std::string& state, const std::string& detail);
  // Entries, newest last; `limit` 0 means all.
  absl::StatusOr<std::vector<EgressEntry>> List(size_t limit = 0) const;
  // Total payload bytes of entries marked sent (what actually left).
  absl::StatusOr<uint64_t> TotalSentBytes() const;

 private:
  SQLite::Database* db_;
};

}  // namespace scancov::privacy

#endif  // SCANCOV_PRIVACY_EGRESS_LEDGER_H_
