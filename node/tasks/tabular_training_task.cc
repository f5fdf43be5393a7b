// The tabular_training kind at the node: a small LibTorch model trained on the site's admission
// rows (node/tasks/training_runner.h). It reads the study's features and outcome; its INIT and
// TRAIN results carry the model's weights. Spec and metrics: protocol/wire/tabular_training.h.
#include <memory>
#include <string>

#include "core/status_macros.h"
#include "models/nn/tabular_config.h"
#include "node/tasks/task_plugin.h"
#include "node/tasks/training_runner.h"
#include "protocol/wire/tabular_training.h"

namespace scancov::node {
namespace {

bool SendsWeights(const v1::Task& task) {
  return task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
}

// Why the study's network cannot train with DP-SGD, "" when it can: BatchNorm (the default of
// severity_mlp) normalises each row by its batch, so no row has a gradient of its own to clip.
// A config that does not parse is left to the training, which refuses it by name.
std::string DpSgdUnavailable(const wire::TabularTrainingSpec& spec) {
  absl::StatusOr<nn::TabularNetConfig> config = nn::ParseTabularNetConfig(spec.model_config_json);
  if (!config.ok() || config->hidden.empty() || !config->batch_norm) return "";
  return "the network has BatchNorm, which mixes the rows of a batch, so no row has a gradient "
         "of its own to clip (set \"batch_norm\": false in model_config)";
}

class TabularTrainingTask : public TaskPlugin {
 public:
  explicit TabularTrainingTask(const NodeContext& context) : context_(context) {
    if (context.tabular != nullptr) {
      TrainingRunnerOptions options;
      options.site_id = context.site_id;
      options.split_key = context.split_key;
      options.device = context.device;
      options.allow_model_weights = context.allow_model_weights;
      options.policy = context.policy;
      options.dp_sgd = context.dp_sgd;
      runner_ = std::make_unique<TrainingTaskRunner>(context.tabular, options);
    }
  }

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::TabularTrainingSpec spec,
                         wire::ParseTabularTrainingSpec(task.spec_json()));
    TaskDeclaration d;
    d.variables = wire::FeatureNames(spec.features);
    d.outcome = spec.outcome;
    d.releases_weights = SendsWeights(task);
    d.requested_min_cell_count = spec.min_cell_count;
    d.dp_sgd_unavailable = DpSgdUnavailable(spec);
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (runner_ == nullptr) {
      return absl::FailedPreconditionError("this node has no data for tabular_training tasks");
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
  std::unique_ptr<TrainingTaskRunner> runner_;
};

std::unique_ptr<TaskPlugin> MakeTabularTrainingTask(const NodeContext& context) {
  return std::make_unique<TabularTrainingTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(tabular_training, &MakeTabularTrainingTask);

}  // namespace scancov::node
