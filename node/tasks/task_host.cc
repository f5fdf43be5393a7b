#include "node/tasks/task_host.h"

namespace scancov::node {

TaskHost::TaskHost(const NodeResources& resources, std::initializer_list<TaskPluginMaker> makers) {
  NodeContext context = resources.context;
  if (context.tabular != nullptr) {
    CohortLimits limits;
    limits.min_count = context.policy.min_cell_count;
    limits.max_studies = resources.max_studies_per_variables;
    limits.max_rounds = resources.max_rounds_per_variables;
    gated_ = std::make_unique<GatedDatasetSource>(context.tabular, resources.cohorts, limits,
                                                  context.split_key);
    context.tabular = gated_.get();
  }
  if (context.terciles == nullptr) context.terciles = &own_terciles_;
  context.dp_sgd = &dp_sgd_;
  TaskPlugins plugins;
  for (TaskPluginMaker make : makers) {
    for (auto& [kind, plugin] : make(context)) plugins[kind] = std::move(plugin);
  }
  GateOptions options;
  options.clock = resources.clock;
  options.destination = resources.destination;
  options.policy = context.policy;
  options.allow_model_weights = context.allow_model_weights;
  options.tabular = gated_.get();
  options.approvals = resources.approvals;
  options.approval_rules = resources.approval_rules;
  options.dp = resources.dp;
  options.dp_ledger = resources.dp_ledger;
  options.dp_sgd = &dp_sgd_;
  gate_ = std::make_unique<TaskGate>(std::move(options), std::move(plugins), resources.ledger);
}

}  // namespace scancov::node
