// TaskLog: the node's local record of the tasks it ran (table `task_log` in the node's SQLite
// store), for `scancov-node status`. Holds ids, states and error texts, never patient data.
#ifndef SCANCOV_NODE_TASK_LOG_H_
#define SCANCOV_NODE_TASK_LOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace SQLite {
class Database;
}

namespace scancov::node {

struct TaskLogEntry {
  std::string task_id;
  std::string kind;
  std::string state;  // running, uploaded, failed, refused
  int64_t started_unix = 0;
  int64_t finished_unix = 0;
  std::string detail;
};

class TaskLog {
 public:
  // `db` must outlive the log. Not thread-safe.
  static absl::StatusOr<std::unique_ptr<TaskLog>> Open(SQLite::Database* db);
  absl::Status Upsert(const TaskLogEntry& entry);
  absl::StatusOr<std::vector<TaskLogEntry>> Recent(size_t limit) const;

 private:
  explicit TaskLog(SQLite::Database* db) : db_(db) {}
  SQLite::Database* db_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASK_LOG_H_
