// Real processes for integration tests: start an executable with its arguments and environment,
// its stdout and stderr going to a log file; stop it with SIGTERM or SIGKILL; wait for it with a
// deadline; and the small helpers such tests need around it (a free TCP port on 127.0.0.1, a
// port file written by the child, waiting for a condition with a deadline, a log's tail).
//
// A ChildProcess kills its child (SIGKILL) and reaps it when destroyed, so a failing test
// leaves no process behind; the child also gets PR_SET_PDEATHSIG = SIGKILL, so it dies with the
// test process even when the test itself is killed. PR_SET_PDEATHSIG fires when the *thread*
// that started the child ends: start children from the test's main thread.
//
// Thread safety: a ChildProcess is used from one thread. FreeLoopbackPort and the free
// functions are thread-safe.
#ifndef SCANCOV_TESTS_PROCESS_HARNESS_H_
#define SCANCOV_TESTS_PROCESS_HARNESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace scancov::testing_process {

struct ProcessOptions {
  std::string name;               // for messages ("aggregator", "node kb"); default: argv[0]
  std::vector<std::string> argv;  // argv[0] is the executable's path
  // "KEY=value" entries added to (or replacing in) the test process's environment.
  std::vector<std::string> env;
  std::string log_path;     // stdout and stderr, appended (created if missing); required
  std::string stdout_path;  // if set, stdout goes here instead (truncated), stderr to log_path
  std::string cwd;          // empty: the test's working directory
};

class ChildProcess {
 public:
  // Forks and execs. The exec's own failure (no such file) shows as exit code 127 and a line in
  // the log.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(ProcessOptions options);
  ~ChildProcess();  // SIGKILL and reap, if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return options_.name; }
  const std::string& log_path() const { return options_.log_path; }

  // True while the child has not exited (reaps it if it has).
  bool Running();
  // The exit code once exited: the code of exit(), or 128 + the signal that ended it.
  std::optional<int> exit_code() const { return exit_code_; }

  absl::Status Signal(int signal_number);
  // SIGKILL, then reaps: the process is gone when this returns.
  absl::Status Kill();
  // Waits until the child exits; DeadlineExceeded (naming it, with its log's tail) otherwise.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns the exit code.
  absl::StatusOr<int> Stop(absl::Duration grace = absl::Seconds(3));

  // The last `bytes` of the log, for failure messages.
  std::string LogTail(size_t bytes = 3000) const;

 private:
  explicit ChildProcess(ProcessOptions options) : options_(std::move(options)) {}
  void Reaped(int wait_status);

  ProcessOptions options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // the command's stdout
  std::string log;  // the tail of its stderr
};

// Runs a command to completion: stdout to `stdout_path` (read back into `out`), stderr appended
// to `log_path`. DeadlineExceeded (the command is killed) past `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::string& name, std::vector<std::string> argv,
                                         const std::string& log_path,
                                         const std::string& stdout_path, absl::Duration timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), to give a
// server a fixed port that it keeps across restarts.
absl::StatusOr<int> FreeLoopbackPort();

// Waits until `path` holds a port number (as scancov-aggregator --port-file writes it).
absl::StatusOr<int> ReadPortFile(const std::string& path, absl::Duration timeout);

// Polls `ready` every `interval` until it returns true or `timeout` passes (false then).
bool WaitUntil(const std::function<bool()>& ready, absl::Duration timeout,
               absl::Duration interval = absl::Milliseconds(20));

// The last `bytes` of a file ("" when it cannot be read).
std::string FileTail(const std::string& path, size_t bytes = 3000);
// The whole file ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

}  // namespace scancov::testing_process

#endif  // SCANCOV_TESTS_PROCESS_HARNESS_H_
