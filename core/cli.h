// What every scancov executable shares on its command line: `--version` and the exit codes.
//
//   CLI::App app{"scancov-x: ..."};
//   scancov::AddVersionAndExitCodes(app, "scancov-x");
//   ...
//   if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
//
// Header-only on CLI11 (every executable links it; the libraries do not).
#ifndef SCANCOV_CORE_CLI_H_
#define SCANCOV_CORE_CLI_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "core/version.h"

namespace scancov {

// The exit codes of every scancov executable (a command may add its own from 3 up, and says so
// in its --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the command ran and failed: refused, a check FAILed
inline constexpr int kExitUsage = 2;   // the command line or a configuration file is unusable
inline constexpr char kExitCodesHelp[] =
    "Exit codes (the same for every scancov command): 0 done; 1 the command failed (the reason "
    "is on stderr); 2 the command line, the site file or --log-level is unusable.";

// `--version` prints "<program> <version> (wire protocol <n>)" and exits 0; the exit codes go
// at the end of --help, after `extra_footer` (examples, the command's own codes).
inline void AddVersionAndExitCodes(CLI::App& app, const std::string& program,
                                   const std::string& extra_footer = "") {
  app.set_version_flag("--version", VersionLine(program));
  app.footer(extra_footer.empty() ? std::string(kExitCodesHelp)
                                  : extra_footer + "\n" + kExitCodesHelp);
}

// Parses the command line. Returns the code to exit with when main should stop here: kExitOk
// after --help or --version (printed), kExitUsage after a bad command line (the error printed
// on stderr, as CLI11 does, with a pointer to --help); nullopt to go on.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return std::nullopt;
}

}  // namespace scancov

#endif  // SCANCOV_CORE_CLI_H_
