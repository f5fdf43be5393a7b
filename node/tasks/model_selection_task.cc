// The model_selection kind at the node: the site's answers to the federated multivariable
// pipeline's requests (node/tasks/federated_selection.h). It reads the candidate variables and
// the outcome only. Spec, requests and answers: protocol/wire/model_selection.h.
#include <memory>

#include "core/status_macros.h"
#include "node/tasks/federated_selection.h"
#include "node/tasks/task_plugin.h"
#include "protocol/wire/model_selection.h"

namespace scancov::node {
namespace {

class ModelSelectionTask : public TaskPlugin {
 public:
  explicit ModelSelectionTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::SelectionSpec spec,
                         wire::ParseSelectionSpec(task.spec_json()));
    TaskDeclaration d;
    d.variables = spec.variables;
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    return RunModelSelection(task, global, *context_.tabular, context_.policy);
  }

 private:
  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeModelSelectionTask(const NodeContext& context) {
  return std::make_unique<ModelSelectionTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(model_selection, &MakeModelSelectionTask);

}  // namespace scancov::node
