#include "tests/process_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace scancov::testing_process {
namespace {

// The test's environment with `extra` ("KEY=value") added or replacing.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    bool replaced = false;
    for (const std::string& x : extra) replaced = replaced || key_of(x) == key_of(entry);
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(ProcessOptions options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("ChildProcess: no argv");
  if (options.log_path.empty()) return absl::InvalidArgumentError("ChildProcess: no log_path");
  if (options.name.empty()) options.name = options.argv[0];
  std::unique_ptr<ChildProcess> child(new ChildProcess(std::move(options)));
  const ProcessOptions& o = child->options_;

  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls (the test process may have threads, e.g. a proxy's).
  const int log_fd = open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat(o.log_path, ": cannot open: ", std::strerror(errno)));
  }
  int out_fd = log_fd;
  if (!o.stdout_path.empty()) {
    out_fd = open(o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      close(log_fd);
      return absl::InternalError(
          absl::StrCat(o.stdout_path, ": cannot open: ", std::strerror(errno)));
    }
  }
  std::vector<std::string> args = o.argv;
  std::vector<std::string> env = MergedEnvironment(o.env);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  const pid_t parent = getpid();
  const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  static const char kExecFailed[] = "ChildProcess: exec failed\n";
  static const char kChdirFailed[] = "ChildProcess: chdir failed\n";

  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    if (out_fd != log_fd) close(out_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the test died between fork and prctl
    // A fresh signal state: the test may block signals in its threads.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (cwd != nullptr && chdir(cwd) != 0) {
      (void)!write(STDERR_FILENO, kChdirFailed, sizeof(kChdirFailed) - 1);
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    (void)!write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  close(log_fd);
  if (out_fd != log_fd) close(out_fd);
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) Kill().IgnoreError();
}

void ChildProcess::Reaped(int wait_status) {
  if (WIFEXITED(wait_status)) {
    exit_code_ = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    exit_code_ = 128 + WTERMSIG(wait_status);
  } else {
    exit_code_ = -1;
  }
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || exit_code_) return false;
  int wait_status = 0;
  const pid_t r = waitpid(pid_, &wait_status, WNOHANG);
  if (r == pid_) {
    Reaped(wait_status);
    return false;
  }
  return r == 0;
}

absl::Status ChildProcess::Signal(int signal_number) {
  if (!Running()) {
    return absl::FailedPreconditionError(absl::StrCat(name(), " is not running"));
  }
  if (kill(pid_, signal_number) != 0) {
    return absl::InternalError(absl::StrCat("kill ", name(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ChildProcess::Kill() {
  if (!Running()) return absl::OkStatus();
  if (kill(pid_, SIGKILL) != 0 && errno != ESRCH) {
    return absl::InternalError(absl::StrCat("kill -9 ", name(), ": ", std::strerror(errno)));
  }
  int wait_status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &wait_status, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) Reaped(wait_status);
  return absl::OkStatus();
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (!WaitUntil([this] { return !Running(); }, timeout, absl::Milliseconds(10))) {
    return absl::DeadlineExceededError(
        absl::StrCat(name(), " (pid ", pid_, ") still running after ",
                     absl::FormatDuration(timeout), "; log tail:\n", LogTail()));
  }
  return exit_code_.value_or(-1);
}

absl::StatusOr<int> ChildProcess::Stop(absl::Duration grace) {
  if (!Running()) return exit_code_.value_or(-1);
  kill(pid_, SIGTERM);
  absl::StatusOr<int> code = Wait(grace);
  if (code.ok()) return code;
  if (absl::Status s = Kill(); !s.ok()) return s;
  return exit_code_.value_or(-1);
}

std::string ChildProcess::LogTail(size_t bytes) const { return FileTail(options_.log_path, bytes); }

absl::StatusOr<CommandResult> RunCommand(const std::string& name, std::vector<std::string> argv,
                                         const std::string& log_path,
                                         const std::string& stdout_path, absl::Duration timeout) {
  ProcessOptions options;
  options.name = name;
  options.argv = std::move(argv);
  options.log_path = log_path;
  options.stdout_path = stdout_path;
  const size_t log_before = ReadWholeFile(log_path).size();
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(std::move(options));
  if (!child.ok()) return child.status();
  absl::StatusOr<int> code = (*child)->Wait(timeout);
  if (!code.ok()) {
    (*child)->Kill().IgnoreError();
    return code.status();
  }
  CommandResult result;
  result.exit_code = *code;
  result.out = ReadWholeFile(stdout_path);
  const std::string log = ReadWholeFile(log_path);
  result.log = log.size() > log_before ? log.substr(log_before) : "";
  return result;
}

absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", why));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<int> ReadPortFile(const std::string& path, absl::Duration timeout) {
  int port = 0;
  const bool ok = WaitUntil(
      [&] {
        std::string text(absl::StripAsciiWhitespace(ReadWholeFile(path)));
        return absl::SimpleAtoi(text, &port) && port > 0;
      },
      timeout);
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat(path, ": no port after ", absl::FormatDuration(timeout)));
  }
  return port;
}

bool WaitUntil(const std::function<bool()>& ready, absl::Duration timeout,
               absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (ready()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string FileTail(const std::string& path, size_t bytes) {
  const std::string text = ReadWholeFile(path);
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace scancov::testing_process
