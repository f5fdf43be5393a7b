// The aggregator's study logics, one per kind of protocol/study_kinds.def, each registered in
// its own file (aggregator/studies/<kind>_study.cc, SCANCOV_REGISTER_STUDY_LOGIC).
#ifndef SCANCOV_AGGREGATOR_STUDIES_REGISTRY_H_
#define SCANCOV_AGGREGATOR_STUDIES_REGISTRY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "aggregator/server/study_logic.h"

namespace scancov::aggregator {

// Every kind's factory; built once, never changed (thread-safe to share).
const StudyLogicRegistry& AllStudyLogics();

// A study's logic straight from a spec (the kind read as at CreateStudy), for tests and tools.
absl::StatusOr<std::unique_ptr<StudyLogic>> CreateStudyLogic(const v1::StudySpec& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDIES_REGISTRY_H_
