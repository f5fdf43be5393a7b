#include "node/task_log.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "absl/strings/str_cat.h"

namespace scancov::node {

absl::StatusOr<std::unique_ptr<TaskLog>> TaskLog::Open(SQLite::Database* db) {
  try {
    db->exec(
        "CREATE TABLE IF NOT EXISTS task_log(task_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "state TEXT NOT NULL, started_unix INTEGER NOT NULL, finished_unix INTEGER NOT NULL, "
        "detail TEXT NOT NULL)");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("task log: open: ", e.what()));
  }
  return std::unique_ptr<TaskLog>(new TaskLog(db));
}

absl::Status TaskLog::Upsert(const TaskLogEntry& e) {
  try {
    SQLite::Statement q(*db_, "INSERT OR REPLACE INTO task_log VALUES(?, ?, ?, ?, ?, ?)");
    q.bind(1, e.task_id);
    q.bind(2, e.kind);
    q.bind(3, e.state);
    q.bind(4, e.started_unix);
    q.bind(5, e.finished_unix);
    q.bind(6, e.detail);
    q.exec();
    return absl::OkStatus();
  } catch (const std::exception& ex) {
    return absl::InternalError(absl::StrCat("task log: upsert: ", ex.what()));
  }
}

absl::StatusOr<std::vector<TaskLogEntry>> TaskLog::Recent(size_t limit) const {
  try {
    SQLite::Statement q(*db_,
                        absl::StrCat("SELECT * FROM task_log ORDER BY started_unix DESC, task_id "
                                     "DESC LIMIT ",
                                     limit));
    std::vector<TaskLogEntry> out;
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                     q.getColumn(2).getString(), q.getColumn(3).getInt64(),
                     q.getColumn(4).getInt64(), q.getColumn(5).getString()});
    }
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("task log: list: ", e.what()));
  }
}

}  // namespace scancov::node
