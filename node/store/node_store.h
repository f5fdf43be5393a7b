// NodeStore: the site's SQLite store, the one place the node opens or owns a database.
//
// One file (the site file's "store") holds every table of the node: the clinical rows
// (node/clinical/clinical_store.h), the CT series and their features (node/imaging/
// imaging_store.h, ct_features.h), the AI-severity scores (node/ai_severity_scores.h), the task
// log (node/task_log.h), the terciles budget (node/tasks/tercile_budget.h) and the egress
// ledger (privacy/egress_ledger.h). Open creates them all (node_schema.h), so the modules only
// read and write: each keeps its own SQL and reaches the connection through db().
//
// Ownership: the NodeStore owns its SQLite::Database; modules hold a NodeStore& or NodeStore*
// that must not outlive it. Thread safety: the connection is serialised by SQLite (full mutex),
// but a module's multi-statement work (a transaction) assumes one caller at a time; the node
// runs one task at a time.
#ifndef SCANCOV_NODE_STORE_NODE_STORE_H_
#define SCANCOV_NODE_STORE_NODE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace SQLite {
class Database;
}

namespace scancov::node {

class NodeStore {
 public:
  // Opens the store at `path`, creating the file and its folder if needed, in WAL mode, and
  // creates every node table that is absent. Unavailable when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<NodeStore>> Open(const std::string& path);
  // A private in-memory store with every table (tests).
  static absl::StatusOr<std::unique_ptr<NodeStore>> InMemory();

  ~NodeStore();
  NodeStore(const NodeStore&) = delete;
  NodeStore& operator=(const NodeStore&) = delete;

  // The connection, for the modules' own statements.
  SQLite::Database& db() { return *db_; }
  // The file ("" in memory).
  const std::string& path() const { return path_; }

 private:
  NodeStore(std::string path, std::unique_ptr<SQLite::Database> db);
  static absl::StatusOr<std::unique_ptr<NodeStore>> OpenAt(const std::string& path);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_STORE_NODE_STORE_H_
