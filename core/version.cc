#include "core/version.h"

#include "absl/strings/str_cat.h"

#ifndef SCANCOV_VERSION
#error "SCANCOV_VERSION comes from CMakeLists.txt's project(VERSION) (core/CMakeLists.txt)"
#endif

namespace scancov {

const char* Version() { return SCANCOV_VERSION; }

std::string VersionLine(const std::string& program) {
  return absl::StrCat(program, " ", SCANCOV_VERSION, " (wire protocol ", SCANCOV_WIRE_PROTOCOL,
                      ")");
}

}  // namespace scancov
