// The ai_severity kind at the node: slice encoders trained federated, the PCA sums and Newton
// steps of the ensemble, per-site evaluation, and at the end every scanned patient's
// probability kept in the node's store (node/tasks/severity_runner.h; spec and answers:
// protocol/wire/ai_severity.h). It reads CT series, their lung masks and the outcome; its INIT
// and TRAIN results carry the encoders' weights.
#include <memory>

#include "core/status_macros.h"
#include "node/tasks/severity_runner.h"
#include "node/tasks/task_plugin.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::node {
namespace {

bool SendsWeights(const v1::Task& task) {
  return task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
}

class AiSeverityTask : public TaskPlugin {
 public:
  explicit AiSeverityTask(const NodeContext& context) : context_(context) {
    if (context.scans != nullptr) {
      SeverityRunnerOptions options;
      options.site_id = context.site_id;
      options.split_key = context.split_key;
      options.device = context.device;
      options.allow_model_weights = context.allow_model_weights;
      options.policy = context.policy;
      options.score_store = context.store;
      runner_ = std::make_unique<SeverityTaskRunner>(context.scans, options);
    }
  }

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::AiSeveritySpec spec,
                         wire::ParseAiSeveritySpec(task.spec_json()));
    TaskDeclaration d;
    d.reads_ct = true;
    d.outcome = spec.outcome;
    d.releases_weights = SendsWeights(task);
    d.requested_min_cell_count = spec.min_cell_count;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (runner_ == nullptr) {
      return absl::FailedPreconditionError("this node has no data for ai_severity tasks");
    }
    return runner_->Run(task, global);
  }

  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const protocol::TensorSet* global,
                                         Progress& progress) override {
    if (runner_ == nullptr) return Run(task, global);
    return runner_->RunTracked(task, global, progress);
  }

 private:
  const NodeContext context_;
  std::unique_ptr<SeverityTaskRunner> runner_;
};

std::unique_ptr<TaskPlugin> MakeAiSeverityTask(const NodeContext& context) {
  return std::make_unique<AiSeverityTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(ai_severity, &MakeAiSeverityTask);

}  // namespace scancov::node
