// A TCP proxy on 127.0.0.1 for tests and benchmarks: it forwards every connection it accepts to
// a target port (e.g. the aggregator's), byte for byte (TLS passes through untouched), and can
//   - limit the rate of each direction (bytes per second, shared by all connections: one link),
//   - count the bytes forwarded each way,
//   - cut every open connection at once (a link dropped mid-upload): both ends see the
//     connection closed; later connections are forwarded again.
//
// "Upstream" is client -> target (a node's upload), "downstream" target -> client.
//
// Threads: one accepting, two per connection (one per direction, so that a paced upload never
// delays the other direction). No dependency beyond POSIX sockets and poll.
//
// Thread safety: every public method may be called from any thread. The destructor stops the
// proxy and joins its threads.
#ifndef SCANCOV_TESTS_THROTTLE_PROXY_H_
#define SCANCOV_TESTS_THROTTLE_PROXY_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace scancov::testing_process {

class ThrottleProxy {
 public:
  struct Options {
    int target_port = 0;                // on 127.0.0.1; required
    int listen_port = 0;                // 0: any free port (see port())
    double upstream_bytes_per_s = 0;    // 0: unlimited
    double downstream_bytes_per_s = 0;  // 0: unlimited
  };

  static absl::StatusOr<std::unique_ptr<ThrottleProxy>> Start(const Options& options);
  ~ThrottleProxy();
  ThrottleProxy(const ThrottleProxy&) = delete;
  ThrottleProxy& operator=(const ThrottleProxy&) = delete;

  int port() const { return port_; }

  // Changes the limits from now on (0: unlimited); a connection in flight follows at once.
  void SetRates(double upstream_bytes_per_s, double downstream_bytes_per_s);

  uint64_t upstream_bytes() const { return upstream_bytes_.load(); }
  uint64_t downstream_bytes() const { return downstream_bytes_.load(); }
  uint64_t connections_accepted() const { return accepted_.load(); }
  size_t open_connections();

  // Closes every open connection (both sockets: the client and the target see it end).
  // Returns how many were cut.
  int CutAll();

  // Stops accepting, cuts every connection and joins the threads; idempotent.
  void Stop();

 private:
  struct Connection;
  enum Direction { kUp = 0, kDown = 1 };

  explicit ThrottleProxy(const Options& options);  // in the .cc: Connection is complete there
  void AcceptLoop();
  void Forward(Connection* c, Direction d);
  // When `bytes` more may go in direction `d` (pacing: the direction's schedule advances).
  absl::Time Reserve(Direction d, size_t bytes);
  size_t ChunkBytes(Direction d);
  void ReapFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};  // wakes the acceptor on Stop
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> upstream_bytes_{0}, downstream_bytes_{0}, accepted_{0};
  std::thread acceptor_;

  absl::Mutex rate_mu_;
  double rate_[2] ABSL_GUARDED_BY(rate_mu_) = {0, 0};
  absl::Time next_[2] ABSL_GUARDED_BY(rate_mu_);  // when the direction's link is free again

  absl::Mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::testing_process

#endif  // SCANCOV_TESTS_THROTTLE_PROXY_H_
