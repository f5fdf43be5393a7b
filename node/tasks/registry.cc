// The plain kinds' plug-ins (study_kinds.def: plain). torch_registry.cc does the same for the
// kinds that need LibTorch.
#include "node/tasks/registry.h"

namespace scancov::node {

#define SCANCOV_IF_plain(x) x
#define SCANCOV_IF_torch(x)
#define SCANCOV_STUDY_KIND(name, family, needs) \
  SCANCOV_IF_##needs(TaskPluginFactory TaskFactory_##name();)
#include "protocol/study_kinds.def"

TaskPlugins MakePlainTasks(const NodeContext& context) {
  TaskPlugins plugins;
#define SCANCOV_STUDY_KIND(name, family, needs) \
  SCANCOV_IF_##needs(plugins[protocol::StudyKind::name] = TaskFactory_##name()(context);)
#include "protocol/study_kinds.def"
  return plugins;
}

}  // namespace scancov::node
