#include "tests/throttle_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace scancov::testing_process {
namespace {

constexpr size_t kMaxChunk = 64 * 1024;
constexpr size_t kMinChunk = 1024;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Waits up to `timeout` (negative: forever) for `fd` to be readable or the cut pipe to fire.
// Returns false when cut.
bool WaitReadable(int fd, int cut_fd, int timeout_ms, bool* readable) {
  pollfd fds[2] = {{cut_fd, POLLIN, 0}, {fd, POLLIN, 0}};
  const int n = fd >= 0 ? 2 : 1;
  int r;
  do {
    r = poll(fds, n, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (fds[0].revents != 0) return false;
  if (readable != nullptr) *readable = n == 2 && fds[1].revents != 0;
  return true;
}

}  // namespace

struct ThrottleProxy::Connection {
  int fd[2] = {-1, -1};  // [kUp] reads the client, [kDown] reads the target
  int cut_pipe[2] = {-1, -1};
  std::atomic<bool> cut{false};
  std::atomic<int> directions_done{0};
  std::thread threads[2];

  void Cut() {
    if (cut.exchange(true)) return;
    (void)!write(cut_pipe[1], "x", 1);
    // Both peers see the connection end; a thread blocked in send() wakes with an error.
    shutdown(fd[0], SHUT_RDWR);
    shutdown(fd[1], SHUT_RDWR);
  }
  ~Connection() {
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
    for (int f : {fd[0], fd[1], cut_pipe[0], cut_pipe[1]}) {
      if (f >= 0) close(f);
    }
  }
};

ThrottleProxy::ThrottleProxy(const Options& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<ThrottleProxy>> ThrottleProxy::Start(const Options& options) {
  if (options.target_port <= 0) return absl::InvalidArgumentError("ThrottleProxy: no target");
  std::unique_ptr<ThrottleProxy> p(new ThrottleProxy(options));
  p->SetRates(options.upstream_bytes_per_s, options.downstream_bytes_per_s);
  p->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(options.listen_port);
  socklen_t len = sizeof(addr);
  if (bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(p->listen_fd_, 64) != 0 ||
      getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError(absl::StrCat(
        "ThrottleProxy: listen on 127.0.0.1:", options.listen_port, ": ", strerror(errno)));
  }
  p->port_ = ntohs(addr.sin_port);
  if (pipe2(p->wake_pipe_, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

ThrottleProxy::~ThrottleProxy() {
  Stop();
  for (int f : {listen_fd_, wake_pipe_[0], wake_pipe_[1]}) {
    if (f >= 0) close(f);
  }
}

void ThrottleProxy::SetRates(double upstream_bytes_per_s, double downstream_bytes_per_s) {
  absl::MutexLock lock(&rate_mu_);
  rate_[kUp] = std::max(0.0, upstream_bytes_per_s);
  rate_[kDown] = std::max(0.0, downstream_bytes_per_s);
}

size_t ThrottleProxy::ChunkBytes(Direction d) {
  absl::MutexLock lock(&rate_mu_);
  if (rate_[d] <= 0) return kMaxChunk;
  // About 10 ms of the link per read, so that pacing is smooth at any rate.
  return std::clamp(static_cast<size_t>(rate_[d] / 100), kMinChunk, kMaxChunk);
}

absl::Time ThrottleProxy::Reserve(Direction d, size_t bytes) {
  absl::MutexLock lock(&rate_mu_);
  const absl::Time now = absl::Now();
  if (rate_[d] <= 0) return now;
  // The link is busy until next_[d]; these bytes take bytes/rate after that. They may be
  // written once their slot has ended, so the rate is never exceeded.
  const absl::Time start = std::max(now, next_[d]);
  next_[d] = start + absl::Seconds(static_cast<double>(bytes) / rate_[d]);
  return next_[d];
}

size_t ThrottleProxy::open_connections() {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& c : connections_) n += !c->cut.load() && c->directions_done.load() < 2;
  return n;
}

int ThrottleProxy::CutAll() {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& c : connections_) {
    if (c->cut.load() || c->directions_done.load() == 2) continue;
    c->Cut();
    ++n;
  }
  return n;
}

void ThrottleProxy::Stop() {
  if (stopping_.exchange(true)) return;
  (void)!write(wake_pipe_[1], "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  absl::MutexLock lock(&mu_);
  for (const auto& c : connections_) c->Cut();
  connections_.clear();  // joins each connection's threads
}

void ThrottleProxy::ReapFinished() {
  connections_.remove_if(
      [](const std::unique_ptr<Connection>& c) { return c->directions_done.load() == 2; });
}

void ThrottleProxy::AcceptLoop() {
  while (!stopping_.load()) {
    bool readable = false;
    if (!WaitReadable(listen_fd_, wake_pipe_[0], 100, &readable)) return;
    {
      absl::MutexLock lock(&mu_);
      ReapFinished();
    }
    if (!readable) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++accepted_;
    const int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(options_.target_port);
    if (target < 0 || connect(target, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      // The target is down: the client sees its connection closed, as it would without us.
      if (target >= 0) close(target);
      close(client);
      continue;
    }
    NoDelay(client);
    NoDelay(target);
    auto c = std::make_unique<Connection>();
    c->fd[kUp] = client;
    c->fd[kDown] = target;
    if (pipe2(c->cut_pipe, O_CLOEXEC) != 0) {
      continue;  // ~Connection closes the sockets
    }
    Connection* raw = c.get();
    raw->threads[kUp] = std::thread([this, raw] { Forward(raw, kUp); });
    raw->threads[kDown] = std::thread([this, raw] { Forward(raw, kDown); });
    absl::MutexLock lock(&mu_);
    connections_.push_back(std::move(c));
  }
}

void ThrottleProxy::Forward(Connection* c, Direction d) {
  const int src = c->fd[d];
  const int dst = c->fd[d == kUp ? kDown : kUp];
  std::atomic<uint64_t>& counter = d == kUp ? upstream_bytes_ : downstream_bytes_;
  std::vector<char> buffer(kMaxChunk);
  bool failed = false;
  while (true) {
    bool readable = false;
    if (!WaitReadable(src, c->cut_pipe[0], -1, &readable)) break;
    const ssize_t n = read(src, buffer.data(), ChunkBytes(d));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {  // the sender closed its side: pass the half-close on
      failed = n < 0;
      if (!failed) shutdown(dst, SHUT_WR);
      break;
    }
    // Pace: wait for the bytes' slot on the link, waking early only for a cut.
    const absl::Time at = Reserve(d, static_cast<size_t>(n));
    bool cut = false;
    for (absl::Duration left = at - absl::Now(); left > absl::ZeroDuration();
         left = at - absl::Now()) {
      const int ms = static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
      if (!WaitReadable(-1, c->cut_pipe[0], ms, nullptr)) {
        cut = true;
        break;
      }
    }
    if (cut) break;
    ssize_t sent = 0;
    while (sent < n) {
      const ssize_t w = send(dst, buffer.data() + sent, n - sent, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        failed = true;
        break;
      }
      sent += w;
      counter += static_cast<uint64_t>(w);
    }
    if (failed) break;
  }
  // An error on one side ends both directions (as a dropped link would).
  if (failed) c->Cut();
  c->directions_done.fetch_add(1);
}

}  // namespace scancov::testing_process
