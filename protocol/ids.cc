#include "protocol/ids.h"

namespace scancov::protocol {

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_'));
    if (!ok) return false;
  }
  return true;
}

bool IsAiSeverityVariable(std::string_view name) {
  const std::string_view prefix = kAiSeverityPrefix;
  return name.substr(0, prefix.size()) == prefix && IsValidId(name.substr(prefix.size()));
}

std::string AiSeverityStudyOf(std::string_view name) {
  if (!IsAiSeverityVariable(name)) return "";
  return std::string(name.substr(std::string_view(kAiSeverityPrefix).size()));
}

}  // namespace scancov::protocol
