// The model_evaluation kind at the node: each model of the study scored on the site's patients,
// only aggregates released (node/tasks/model_evaluation.h). It reads the admission variables the
// site releases (published scores' inputs), the fitted models' features, the survival time and
// event when asked, and the outcome.
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/tasks/model_evaluation.h"
#include "node/tasks/task_plugin.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using nlohmann::json;

class ModelEvaluationTask : public TaskPlugin {
 public:
  explicit ModelEvaluationTask(const NodeContext& context) : context_(context) {}

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    const json j = json::parse(task.spec_json().empty() ? "{}" : task.spec_json(), nullptr, false);
    if (!j.is_object() || !j.contains("models") || !j.at("models").is_array()) {
      return absl::InvalidArgumentError("spec_json: 'models' must be a list");
    }
    TaskDeclaration d;
    for (const sites::VariableSpec& v : sites::AdmissionVariables()) d.variables.push_back(v.name);
    for (const json& m : j.at("models")) {
      if (!m.is_object() || !m.contains("features") || !m.at("features").is_array()) continue;
      for (const json& f : m.at("features")) {
        const json name = f.is_object() && f.contains("name") ? f.at("name") : f;
        if (name.is_string()) d.variables.push_back(name.get<std::string>());
      }
    }
    const json survival = j.value("survival", json::object());
    if (survival.is_object()) {
      for (const char* key : {"time", "event"}) {
        if (survival.contains(key) && survival.at(key).is_string()) {
          d.variables.push_back(survival.at(key).get<std::string>());
        }
      }
    }
    d.outcome = j.value("outcome", std::string());
    d.requested_min_cell_count = j.value("min_cell_count", 0);
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
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
