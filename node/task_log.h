// TaskLog: the node's local record of the tasks it ran (table `task_log` in the node's store,
// node/store/node_store.h), for `scancov-node status`. Holds ids, states and error texts, never
// patient data.
#ifndef SCANCOV_NODE_TASK_LOG_H_
#define SCANCOV_NODE_TASK_LOG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/store/node_store.h"

namespace scancov::node {

struct TaskLogEntry {
  std::string task_id;
  std::string kind;
  std::string state;  // running, uploaded, failed, refused, stopped
  int64_t started_unix = 0;
  int64_t finished_unix = 0;
  std::string detail;
};

class TaskLog {
 public:
  // `store` must outlive the log. Not thread-safe.
  explicit TaskLog(NodeStore& store) : store_(&store) {}
  absl::Status Upsert(const TaskLogEntry& entry);
  absl::StatusOr<std::vector<TaskLogEntry>> Recent(size_t limit) const;

 private:
  NodeStore* store_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASK_LOG_H_
