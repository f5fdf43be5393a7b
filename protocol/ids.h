// Names that studies and sites are known by on the wire, and the variable names that refer to a
// study's per-site output.
//
// Site and study ids: [a-z0-9][a-z0-9_-]{0,62} (they name folders and tensors too).
// "ai_severity:<study id>": the AI-severity probability that a finished AI-severity study left at
// each site (node/ai_severity_scores.h), usable as an input variable of later studies.
#ifndef SCANCOV_PROTOCOL_IDS_H_
#define SCANCOV_PROTOCOL_IDS_H_

#include <string>
#include <string_view>

namespace scancov::protocol {

bool IsValidId(std::string_view id);

inline constexpr char kAiSeverityPrefix[] = "ai_severity:";

// Whether `name` is "ai_severity:<valid study id>".
bool IsAiSeverityVariable(std::string_view name);
// The study id of an AI-severity variable ("" when `name` is not one).
std::string AiSeverityStudyOf(std::string_view name);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_IDS_H_
