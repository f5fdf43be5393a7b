// GuardedStudyLogic: a StudyLogic decorator that turns an exception escaping the wrapped logic
// into a Status, so that a malformed site answer or study spec the logic failed to check (a
// JSON field of the wrong type makes nlohmann::json::value() throw) is refused with an error
// instead of terminating the aggregator. Each study logic still validates its inputs itself;
// this is defence in depth at the one place every call passes through.
//
//   ValidateSpec / ValidateResult  an exception -> InvalidArgument("... malformed ...")
//   CloseRound                     an exception -> Internal (the federation fails the study
//                                  with that message; the aggregator keeps serving the others)
//   PlanRound                      an exception -> no tasks, logged with the study and round
// The messages carry the exception's text (field names and types from the JSON library, never
// values: site results hold aggregates only, and no patient data reaches the aggregator).
//
// Thread safety: as the wrapped logic (StudyLogic methods are const).
#ifndef SCANCOV_AGGREGATOR_GUARDED_LOGIC_H_
#define SCANCOV_AGGREGATOR_GUARDED_LOGIC_H_

#include <memory>

#include "aggregator/server/study_logic.h"

namespace scancov::aggregator {

std::unique_ptr<StudyLogic> Guarded(std::unique_ptr<StudyLogic> logic);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_GUARDED_LOGIC_H_
