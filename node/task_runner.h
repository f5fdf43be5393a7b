// TaskRunner: executes one task locally. The agent downloads the task's checkpoint (if any),
// calls Run, and uploads the outcome; runners never touch the network.
#ifndef SCANCOV_NODE_TASK_RUNNER_H_
#define SCANCOV_NODE_TASK_RUNNER_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::node {

struct TaskOutcome {
  uint64_t num_samples = 0;
  std::map<std::string, double> metrics;
  std::string result_json;
  std::optional<protocol::TensorSet> weights;
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // `global` is the task's downloaded checkpoint, or null when the task names none.
  virtual absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                          const protocol::TensorSet* global) = 0;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASK_RUNNER_H_
