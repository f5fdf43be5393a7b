#include "aggregator/studies/registry.h"

namespace scancov::aggregator {

// Each kind's registration function, defined in its own file by SCANCOV_REGISTER_STUDY_LOGIC.
#define SCANCOV_STUDY_KIND(name, family, needs) \
  void RegisterStudyLogic_##name(StudyLogicRegistry& registry);
#include "protocol/study_kinds.def"

const StudyLogicRegistry& AllStudyLogics() {
  static const StudyLogicRegistry* registry = [] {
    auto* r = new StudyLogicRegistry;
#define SCANCOV_STUDY_KIND(name, family, needs) RegisterStudyLogic_##name(*r);
#include "protocol/study_kinds.def"
    return r;
  }();
  return *registry;
}

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateStudyLogic(const v1::StudySpec& spec) {
  v1::StudySpec normalized = spec;
  absl::Status kind = protocol::NormalizeStudyKind(&normalized);
  if (!kind.ok()) return kind;
  return AllStudyLogics().Create(normalized);
}

}  // namespace scancov::aggregator
