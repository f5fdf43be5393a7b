#include "node/task_log.h"

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"

namespace scancov::node {

absl::Status TaskLog::Upsert(const TaskLogEntry& e) {
  return sqlite::Guard("task log: upsert", [&] {
    SQLite::Statement q(store_->db(), "INSERT OR REPLACE INTO task_log VALUES(?, ?, ?, ?, ?, ?)");
    q.bind(1, e.task_id);
    q.bind(2, e.kind);
    q.bind(3, e.state);
    q.bind(4, e.started_unix);
    q.bind(5, e.finished_unix);
    q.bind(6, e.detail);
    q.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<TaskLogEntry>> TaskLog::Recent(size_t limit) const {
  return sqlite::Guard("task log: list", [&]() -> absl::StatusOr<std::vector<TaskLogEntry>> {
    SQLite::Statement q(store_->db(),
                        absl::StrCat("SELECT * FROM task_log ORDER BY started_unix DESC, task_id "
                                     "DESC LIMIT ",
                                     limit));
    std::vector<TaskLogEntry> out;
    while (q.executeStep()) {
      sqlite::Row row(q);
      TaskLogEntry e;
      e.task_id = row.Text();
      e.kind = row.Text();
      e.state = row.Text();
      e.started_unix = row.Int64();
      e.finished_unix = row.Int64();
      e.detail = row.Text();
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace scancov::node
