// The node's task plug-ins, one per kind of protocol/study_kinds.def, each registered in its
// own file (node/tasks/<kind>_task.cc, SCANCOV_REGISTER_TASK). The kinds whose task needs
// LibTorch are in a library of their own (built with SCANCOV_WITH_TORCH).
#ifndef SCANCOV_NODE_TASKS_REGISTRY_H_
#define SCANCOV_NODE_TASKS_REGISTRY_H_

#include <map>
#include <memory>

#include "node/tasks/task_plugin.h"

namespace scancov::node {

// The plug-ins of the kinds that need no LibTorch (study_kinds.def: plain).
TaskPlugins MakePlainTasks(const NodeContext& context);
// The plug-ins of the kinds that need LibTorch (study_kinds.def: torch; in
// scancov_node_torch_tasks).
TaskPlugins MakeTorchTasks(const NodeContext& context);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TASKS_REGISTRY_H_
