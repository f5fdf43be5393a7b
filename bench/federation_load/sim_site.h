// A simulated site for the federation load benchmark: a real node client
// (node/grpc_federation_client.h, mutual TLS with the site's own certificate) running the node
// agent's loop (node/agent.h) without the gate or LibTorch. It registers, then pulls: a Wait
// answer means sleep for wait_ms (at least 50 ms, as the agent) and pull again; a Stop ends it;
// a task is run:
//   INIT_MODEL  a synthetic U-Net of the requested size is uploaded;
//   TRAIN       the checkpoint is downloaded, the update (global + small deterministic noise,
//               same layout) made and uploaded with the site's fixed sample count;
//   EVALUATE    the checkpoint is downloaded and a metric uploaded.
// Transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, DATA_LOSS) are
// retried with backoff, as the agent does; every attempt's failure is kept for the report.
//
// Thread safety: one SimSite runs on one thread; RoundMarks and the flags are shared.
#ifndef SCANCOV_BENCH_FEDERATION_LOAD_SIM_SITE_H_
#define SCANCOV_BENCH_FEDERATION_LOAD_SIM_SITE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/federation_load/synthetic_model.h"
#include "node/grpc_federation_client.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.pb.h"

namespace scancov::bench {

// Seconds since the benchmark's epoch (wall clock, so that they line up with the aggregator's
// log lines).
double SecondsSince(absl::Time epoch);

// When each round's first task reached a site, and a hook run (once per round, under the lock)
// at that moment: the benchmark samples the aggregator's memory and the proxy's counters there.
class RoundMarks {
 public:
  RoundMarks(absl::Time epoch, std::function<void(uint32_t round)> on_first)
      : epoch_(epoch), on_first_(std::move(on_first)) {}
  void Saw(uint32_t round);
  // Round -> seconds since the epoch when its first task was handed out.
  std::map<uint32_t, double> opened() const;

 private:
  const absl::Time epoch_;
  const std::function<void(uint32_t)> on_first_;
  mutable absl::Mutex mu_;
  std::map<uint32_t, double> opened_ ABSL_GUARDED_BY(mu_);
};

// One task as a site lived it; times in seconds since the epoch.
struct SiteTask {
  std::string site_id;
  uint32_t round = 0;
  v1::TaskKind kind = v1::TASK_KIND_UNSPECIFIED;
  double pulled = 0;            // PullTask answered with the task
  double downloaded = 0;        // checkpoint verified and in memory (= pulled without one)
  double worked = 0;            // update made (the site's own work)
  double uploaded = 0;          // UploadResult answered (or its last attempt failed)
  uint64_t download_bytes = 0;  // raw tensor bytes
  uint64_t upload_bytes = 0;
  bool accepted = false;
  std::vector<std::string> errors;  // every failed attempt, "<call> after <s>: <status>"
};

struct SimSiteOptions {
  std::string site_id;
  protocol::TlsFiles tls;
  std::string target;  // host:port of the aggregator, or of the proxy in front of it
  uint64_t num_samples = 100;
  uint64_t seed = 1;
  const ModelLayout* init_layout = nullptr;  // the model an INIT task uploads
  node::GrpcClientOptions client;            // the node's defaults unless a mode changes them
  int attempts_per_call = 6;                 // as node::AgentOptions
  // The agent pulls the same task again after a failed upload and redoes it from the start;
  // true ends the site instead (slow_link: one attempt is the finding).
  bool end_on_failed_upload = false;
  absl::Time epoch;
  absl::Time deadline;  // the site gives up (and returns) past this
  RoundMarks* marks = nullptr;
  const std::atomic<bool>* study_created = nullptr;  // idle after this: the study is over
  const std::atomic<bool>* stop = nullptr;
  std::atomic<int>* registered = nullptr;  // incremented once registered
};

class SimSite {
 public:
  explicit SimSite(SimSiteOptions options) : options_(std::move(options)) {}
  // Until the study is over (an idle Wait after it was created), a Stop, the stop flag or the
  // deadline. Failures end up in error() and in the tasks' errors.
  void Run();
  const std::vector<SiteTask>& tasks() const { return tasks_; }
  const std::string& error() const { return error_; }
  const std::string& site_id() const { return options_.site_id; }

 private:
  // False when the site should end (a failed upload with end_on_failed_upload).
  bool RunTask(const v1::Task& task);
  // Calls `fn` until it succeeds, fails non-transiently, attempts run out or the deadline
  // passes; failures are appended to `errors`.
  template <typename Fn>
  auto Retry(const char* what, std::vector<std::string>* errors, Fn&& fn) -> decltype(fn());
  bool Stopping() const;
  double Now() const { return SecondsSince(options_.epoch); }

  const SimSiteOptions options_;
  std::unique_ptr<node::GrpcFederationClient> client_;
  std::vector<SiteTask> tasks_;
  std::string error_;
};

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_FEDERATION_LOAD_SIM_SITE_H_
