// The logistic_regression kind at the node: the site's gradient, information and
// log-likelihood at the round's coefficients, and the terciles rounds' counts
// (node/tasks/federated_logistic.h). It reads the study's features and outcome only.
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/tabular_features.h"
#include "node/tasks/federated_logistic.h"
#include "node/tasks/task_plugin.h"
#include "node/tasks/tercile_budget.h"

namespace scancov::node {
namespace {

using nlohmann::json;

class LogisticRegressionTask : public TaskPlugin {
 public:
  explicit LogisticRegressionTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(TabularTaskSpec spec, ParseTabularTaskSpec(task.spec_json()));
    TaskDeclaration d;
    for (const FeatureSpec& f : spec.features) d.variables.push_back(f.name);
    d.outcome = spec.outcome;
    const json j = json::parse(task.spec_json(), nullptr, false);
    if (j.is_object() && j.contains("min_cell_count") && j.at("min_cell_count").is_number()) {
      d.requested_min_cell_count = j.at("min_cell_count").get<int>();
    }
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
