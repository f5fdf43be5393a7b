// The logistic_regression kind at the node: the site's gradient, information and
// log-likelihood at the round's coefficients, and the terciles rounds' counts
// (node/tasks/federated_logistic.h). It reads the study's features and outcome only.
// Spec and answers: protocol/wire/logistic_regression.h.
#include <memory>

#include "core/status_macros.h"
#include "node/tabular_features.h"
#include "node/tasks/federated_logistic.h"
#include "node/tasks/task_plugin.h"
#include "node/tasks/tercile_budget.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::node {
namespace {

class LogisticRegressionTask : public TaskPlugin {
 public:
  explicit LogisticRegressionTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::LogisticSpec spec, wire::ParseLogisticSpec(task.spec_json()));
    TaskDeclaration d;
    d.variables = wire::FeatureNames(spec.features);
    d.outcome = spec.outcome;
    d.requested_min_cell_count = spec.min_cell_count;
    d.part = spec.split.For(context_.site_id);
    d.holdout_fraction = spec.split.holdout_fraction;
    d.complete_cases = true;  // the fit drops incomplete rows
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (context_.tabular == nullptr) {
      return absl::FailedPreconditionError("this node has no admission data");
    }
    if (context_.terciles == nullptr) {
      return absl::FailedPreconditionError("this node keeps no terciles budget");
    }
    return RunLogisticRegression(task, global, *context_.tabular, context_.policy, context_.site_id,
                                 *context_.terciles);
  }

 private:
  const NodeContext context_;
};

std::unique_ptr<TaskPlugin> MakeLogisticRegressionTask(const NodeContext& context) {
  return std::make_unique<LogisticRegressionTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(logistic_regression, &MakeLogisticRegressionTask);

}  // namespace scancov::node
