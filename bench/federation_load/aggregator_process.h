// The aggregator of the federation load benchmark: the real scancov-aggregator executable as a
// child process (tests/process_harness.h: killed with the benchmark, even when the benchmark
// itself is killed), so that its memory is measured alone, from /proc/<pid>/status.
#ifndef SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_PROCESS_H_
#define SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "protocol/grpc_util.h"
#include "tests/process_harness.h"

namespace scancov::bench {

struct AggregatorProcessOptions {
  std::string binary;  // scancov-aggregator
  std::string dir;     // its database and log go here
  protocol::TlsFiles tls;
  double wait_seconds = 2;  // --wait-seconds: how long idle nodes are told to wait
  std::string log_level = "info";
  std::vector<std::string> env;  // "KEY=value" for the child (e.g. MALLOC_ARENA_MAX=2)
};

class AggregatorProcess {
 public:
  // Starts it on 127.0.0.1 (a free port, read from --port-file) and waits up to 30 s for it.
  static absl::StatusOr<std::unique_ptr<AggregatorProcess>> Start(
      const AggregatorProcessOptions& options);
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  const std::string& log_path() const { return child_->log_path(); }
  bool Running() { return child_->Running(); }
  // SIGTERM, then SIGKILL after `grace`. The destructor kills it if still running.
  absl::Status Stop(absl::Duration grace = absl::Seconds(5));

 private:
  std::unique_ptr<testing_process::ChildProcess> child_;
  int port_ = 0;
};

// One reading of /proc/<pid>/status.
struct MemorySample {
  double t = 0;         // seconds since the benchmark's epoch
  uint64_t rss_kb = 0;  // VmRSS
  uint64_t hwm_kb = 0;  // VmHWM: the peak resident set so far
};

absl::StatusOr<MemorySample> ReadMemory(pid_t pid, absl::Time epoch);

// Samples a process's memory every `interval` on a thread of its own until destroyed.
class MemorySampler {
 public:
  MemorySampler(pid_t pid, absl::Time epoch, absl::Duration interval);
  ~MemorySampler();
  std::vector<MemorySample> samples() const;
  // The largest VmRSS sampled in [from, to] (0 when none).
  uint64_t PeakRssKb(double from, double to) const;

 private:
  void Loop();

  const pid_t pid_;
  const absl::Time epoch_;
  const absl::Duration interval_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<MemorySample> samples_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_PROCESS_H_
