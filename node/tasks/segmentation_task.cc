// The segmentation kind at the node: a lung or lesion network trained on the site's labelled CT
// series (node/tasks/segmentation_runner.h; spec and metrics: protocol/wire/segmentation.h). It
// reads CT series and their labels, no tabular variable; its INIT and TRAIN results carry the
// model's weights.
#include <memory>

#include "core/status_macros.h"
#include "node/tasks/segmentation_runner.h"
#include "node/tasks/task_plugin.h"
#include "protocol/wire/segmentation.h"

namespace scancov::node {
namespace {

bool SendsWeights(const v1::Task& task) {
  return task.kind() == v1::TASK_KIND_INIT_MODEL || task.kind() == v1::TASK_KIND_TRAIN;
}

class SegmentationTask : public TaskPlugin {
 public:
  explicit SegmentationTask(const NodeContext& context) : context_(context) {
    if (context.labelled_series != nullptr) {
      SegmentationRunnerOptions options;
      options.site_id = context.site_id;
      options.split_key = context.split_key;
      options.device = context.device;
      options.allow_model_weights = context.allow_model_weights;
      options.threads = context.threads;
      options.policy = context.policy;
      runner_ = std::make_unique<SegmentationTaskRunner>(context.labelled_series, options);
    }
  }

  absl::StatusOr<TaskDeclaration> Declare(const v1::Task& task) const override {
    SCV_ASSIGN_OR_RETURN(const wire::SegmentationSpec spec,
                         wire::ParseSegmentationSpec(task.spec_json()));
    TaskDeclaration d;
    d.reads_ct = true;
    d.releases_weights = SendsWeights(task);
    d.requested_min_cell_count = spec.min_cell_count;
    return d;
  }

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task,
                                  const protocol::TensorSet* global) override {
    if (runner_ == nullptr) {
      return absl::FailedPreconditionError("this node has no data for segmentation tasks");
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
  std::unique_ptr<SegmentationTaskRunner> runner_;
};

std::unique_ptr<TaskPlugin> MakeSegmentationTask(const NodeContext& context) {
  return std::make_unique<SegmentationTask>(context);
}

}  // namespace

SCANCOV_REGISTER_TASK(segmentation, &MakeSegmentationTask);

}  // namespace scancov::node
