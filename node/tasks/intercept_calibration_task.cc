// The intercept_calibration kind at the node: the site's score equations for a published
// model's intercept (node/tasks/intercept_calibration.h). It reads the admission variables the
// site releases (a published model's inputs) and the outcome.
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/tasks/intercept_calibration.h"
#include "node/tasks/task_plugin.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using nlohmann::json;

class InterceptCalibrationTask : public TaskPlugin {
 public:
  explicit InterceptCalibrationTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    const json j = json::parse(task.spec_json().empty() ? "{}" : task.spec_json(), nullptr, false);
    if (!j.is_object()) return absl::InvalidArgumentError("spec_json: not a JSON object");
    TaskDeclaration d;
    for (const sites::VariableSpec& v : sites::AdmissionVariables()) d.variables.push_back(v.name);
    d.outcome = j.value("outcome", std::string());
    d.requested_min_cell_count = j.value("min_cell_count", 0);
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
