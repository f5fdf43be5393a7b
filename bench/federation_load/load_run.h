// One run of the federation load benchmark: a fresh consortium (a CA, the aggregator's, the
// coordinator's and one certificate per site, issued in memory), scancov-aggregator as a child
// process, optionally the TCP proxy (tests/throttle_proxy.h) between the sites and it, N
// simulated sites (sim_site.h) as threads, and one fedavg training study of `rounds` rounds
// created by the coordinator over the Coordinator service. Everything is bounded: the sites
// give up at the run's deadline, the aggregator is killed on every way out.
#ifndef SCANCOV_BENCH_FEDERATION_LOAD_LOAD_RUN_H_
#define SCANCOV_BENCH_FEDERATION_LOAD_LOAD_RUN_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/federation_load/aggregator_log.h"
#include "bench/federation_load/aggregator_process.h"
#include "bench/federation_load/sim_site.h"
#include "bench/federation_load/synthetic_model.h"

namespace scancov::bench {

struct LoadOptions {
  int sites = 10;
  int rounds = 3;
  double model_mb = 30;       // raw float32 bytes of the model, MB = 10^6 bytes
  double wait_seconds = 0.5;  // the aggregator's --wait-seconds (the demo's value)
  double round_timeout_s = 3600;
  bool proxy = false;                 // the sites reach the aggregator through the TCP proxy
  double up_bytes_per_s = 0;          // the proxy's limits (0: none) ...
  double down_bytes_per_s = 0;        //
  uint32_t throttle_from_round = 1;   // ... from this round's first task on
  double idle_timeout_s = 60;         // node::GrpcClientOptions::idle_timeout (node default)
  int attempts_per_call = 6;          // node::AgentOptions::attempts_per_call
  bool end_on_failed_upload = false;  // a site ends after a failed upload (sim_site.h)
  double timeout_s = 1800;            // the whole run
  std::string dir;                    // fresh working folder (PKI, database, log)
  std::string aggregator_binary;
  double sample_interval_s = 0.1;  // the aggregator's memory
  // GetStudyStatus every this many seconds while the study runs (0: only once the sites are
  // done). Each call reads every stored update of the open round: polling is a load of its own.
  double status_poll_s = 0;
  std::vector<std::string> aggregator_env;  // "KEY=value" added to its environment
  // The aggregator is killed (and the run ends) when its RSS passes this: the machine is shared.
  double max_aggregator_rss_mb = 12000;
};

// Proxy byte counters at one moment.
struct WireBytes {
  uint64_t up = 0;    // sites -> aggregator
  uint64_t down = 0;  // aggregator -> sites
};

struct LoadResult {
  ModelLayout layout;         // tensors' names and shapes only
  double pki_s = 0;           // issuing every certificate
  MemorySample started;       // aggregator up, nothing enrolled
  MemorySample before_study;  // sites enrolled and registered, polling; no study yet
  MemorySample at_end;        // the study over (VmHWM: the peak of the whole run)
  std::vector<MemorySample> samples;
  double created = 0;   // CreateStudy answered
  double finished = 0;  // the coordinator saw the study done or failed (polled every second)
  std::string state;    // "done", "failed", "timed out"
  std::string message;
  std::map<uint32_t, double> opened;  // round -> its first task handed out
  std::map<uint32_t, MemorySample> memory_at_open;
  std::map<uint32_t, WireBytes> wire_at_open;
  WireBytes wire_at_end;
  std::vector<SiteTask> tasks;
  std::vector<std::string> site_errors;  // "<site>: <error>"
  std::map<uint32_t, LoggedRound> log;
  std::string log_path;
  uint64_t db_bytes = 0;  // the aggregator's database at the end
  std::string study_id;
};

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_FEDERATION_LOAD_LOAD_RUN_H_
