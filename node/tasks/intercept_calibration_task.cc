// The intercept_calibration kind at the node: the site's score equations for a published
// model's intercept (node/tasks/intercept_calibration.h). It reads the admission variables the
// site releases (a published model's inputs) and the outcome. Spec and answers:
// protocol/wire/intercept_calibration.h.
#include <memory>

#include "core/status_macros.h"
#include "node/tasks/intercept_calibration.h"
#include "node/tasks/task_plugin.h"
#include "protocol/wire/intercept_calibration.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

class InterceptCalibrationTask : public TaskPlugin {
 public:
  explicit InterceptCalibrationTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::InterceptSpec spec,
                         wire::ParseInterceptSpec(task.spec_json()));
    TaskDeclaration d;
    for (const sites::VariableSpec& v : sites::AdmissionVariables()) d.variables.push_back(v.name);
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    d.part = spec.split.For(context_.site_id);
    d.holdout_fraction = spec.split.holdout_fraction;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    return RunInterceptCalibration(task, global, *context_.tabular, context_.policy,
                                   context_.site_id);
  }

 private:
  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeInterceptCalibrationTask(const NodeContext& context) {
  return std::make_unique<InterceptCalibrationTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(intercept_calibration, &MakeInterceptCalibrationTask);

}  // namespace scancov::node
