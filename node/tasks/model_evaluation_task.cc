// The model_evaluation kind at the node: each model of the study scored on the site's patients,
// only aggregates released (node/tasks/model_evaluation.h; spec and answer:
// protocol/wire/model_evaluation.h). It reads what the study's models read (published scores'
// inputs, fitted models' features), the survival time and event when asked, and the outcome.
#include <memory>

#include "core/status_macros.h"
#include "node/tasks/model_evaluation.h"
#include "node/tasks/task_plugin.h"
#include "protocol/wire/model_evaluation.h"

namespace scancov::node {
namespace {

class ModelEvaluationTask : public TaskPlugin {
 public:
  explicit ModelEvaluationTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::EvaluationSpec spec,
                         wire::ParseEvaluationSpec(task.spec_json()));
    TaskDeclaration d;
    SCV_ASSIGN_OR_RETURN(d.variables, EvaluationVariables(spec));
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    d.part = spec.SplitFor(context_.site_id);
    d.holdout_fraction = spec.holdout_fraction;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet*) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    return RunModelEvaluation(task, *context_.tabular, context_.policy, context_.site_id);
  }

 private:
  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeModelEvaluationTask(const NodeContext& context) {
  return std::make_unique<ModelEvaluationTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(model_evaluation, &MakeModelEvaluationTask);

}  // namespace scancov::node
