// AuditLog: the aggregator's append-only, hash-chained record of every action, with the
// identity from the caller's verified certificate: enrolments, identities disabled or
// enabled, studies created, tasks issued, results accepted or refused, failures and decisions
// received from sites, checkpoints and study statuses downloaded. Entries name the task ids
// that appear in the sites' egress ledgers, so a steward can match what left the site with what
// the aggregator did with it.
//
// Storage: table `audit` in the aggregator's database, in the connection's transactions (an
// entry of a refused call is kept: the federation appends refusals outside the call's
// transaction). Triggers make the table append-only for SQL as well; the hash chain
// (protocol/audit.h) shows any change made around them, and Verify() checks it.
//
// Thread safety: none; the Federation calls it under its mutex.
#ifndef SCANCOV_AGGREGATOR_SERVER_AUDIT_LOG_H_
#define SCANCOV_AGGREGATOR_SERVER_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"

namespace SQLite {
class Database;
}

namespace scancov::aggregator {

class AuditLog {
 public:
  // `db` must outlive the log; creates the table and its triggers if absent.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(SQLite::Database* db);

  // Appends `entry` (seq, prev_hash and hash are set here) and returns it as stored.
  absl::StatusOr<v1::AuditEntry> Append(v1::AuditEntry entry);
  // Entries with seq > after_seq, oldest first, at most `limit`.
  absl::StatusOr<std::vector<v1::AuditEntry>> Read(int64_t after_seq, size_t limit) const;
  // The last entry's seq and hash (0 and the genesis hash when empty).
  absl::StatusOr<std::pair<int64_t, std::string>> Head() const;
  // Re-reads the whole log and verifies its chain: DataLoss naming the first bad entry.
  absl::Status Verify() const;

 private:
  explicit AuditLog(SQLite::Database* db) : db_(db) {}
  SQLite::Database* db_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_AUDIT_LOG_H_
