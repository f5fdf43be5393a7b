// The project's version (CMakeLists.txt's project(VERSION)), which every executable prints with
// --version and which the node and the aggregator tell each other at Register
// (RegisterRequest.node_version, RegisterResponse.aggregator_version). CHANGELOG.md says what
// each version brought.
#ifndef SCANCOV_CORE_VERSION_H_
#define SCANCOV_CORE_VERSION_H_

#include <string>

namespace scancov {

// "0.5.0"
const char* Version();
// "<program> <version> (wire protocol <n>)", n = the newest protocol version this build speaks.
std::string VersionLine(const std::string& program);

}  // namespace scancov

#endif  // SCANCOV_CORE_VERSION_H_
