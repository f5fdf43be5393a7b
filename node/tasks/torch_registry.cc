// The plug-ins of the kinds whose task needs LibTorch (study_kinds.def: torch).
#include "node/tasks/registry.h"

namespace scancov::node {

#define SCANCOV_IF_plain(x)
#define SCANCOV_IF_torch(x) x
#define SCANCOV_STUDY_KIND(name, family, needs) \
  SCANCOV_IF_##needs(TaskPluginFactory TaskFactory_##name();)
#include "protocol/study_kinds.def"

TaskPlugins MakeTorchTasks(const NodeContext& context) {
  TaskPlugins plugins;
#define SCANCOV_STUDY_KIND(name, family, needs) \
  SCANCOV_IF_##needs(plugins[protocol::StudyKind::name] = TaskFactory_##name()(context);)
#include "protocol/study_kinds.def"
  return plugins;
}

}  // namespace scancov::node
