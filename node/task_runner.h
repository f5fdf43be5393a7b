// TaskRunner: executes one task locally. The agent downloads the task's checkpoint (if any),
// calls RunTracked through the gate, and uploads the outcome; runners never touch the network.
//
// Runners of long work (training) override RunTracked: they report their counts to the task's
// Progress (core/progress.h: epochs, batches; never patient data) and, once it is cancelled
// (the aggregator no longer counts the task), stop between steps with Cancelled and the
// progress's reason. The others need not know: RunTracked runs Run.
#ifndef SCANCOV_NODE_TASK_RUNNER_H_
#define SCANCOV_NODE_TASK_RUNNER_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/progress.h"
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
  // Run, reporting to `progress` and stopping once it is cancelled; the default ignores it.
  virtual absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task,
                                                 const protocol::TensorSet* global,
                                                 Progress& progress) {
    return Run(task, global);
  }
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASK_RUNNER_H_
