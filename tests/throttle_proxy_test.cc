// ThrottleProxy against a plain TCP server in the test: bytes pass unchanged both ways and are
// counted, the rate limit holds within 10 %, CutAll ends the connections at both ends and the
// proxy goes on accepting.
#include "tests/throttle_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/process_harness.h"

namespace scancov::testing_process {
namespace {

int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t w = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (w <= 0) return false;
    sent += static_cast<size_t>(w);
  }
  return true;
}

// Reads exactly `n` bytes (false on EOF or error first), within `timeout`.
bool RecvExactly(int fd, size_t n, std::string* out, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[65536];
  while (out->size() < n) {
    pollfd p{fd, POLLIN, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0 || poll(&p, 1, ms) <= 0) return false;
    const ssize_t r = recv(fd, buffer, std::min(sizeof(buffer), n - out->size()), 0);
    if (r <= 0) return false;
    out->append(buffer, static_cast<size_t>(r));
  }
  return true;
}

// Waits until the peer closes `fd` (recv returns 0 or an error), within `timeout`.
bool SeesClosed(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[4096];
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    if (recv(fd, buffer, sizeof(buffer), 0) <= 0) return true;
  }
  return false;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

// A TCP server on 127.0.0.1 that accepts connections and hands each to `serve` on its own
// thread.
class TestServer {
 public:
  explicit TestServer(std::function<void(int)> serve) : serve_(std::move(serve)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 16);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) continue;
        workers_.emplace_back([this, fd] {
          serve_(fd);
          close(fd);
        });
      }
    });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    for (std::thread& t : workers_) t.join();
    close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  std::function<void(int)> serve_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// Echoes everything until the client closes.
void Echo(int fd) {
  char buffer[65536];
  while (true) {
    const ssize_t r = recv(fd, buffer, sizeof(buffer), 0);
    if (r <= 0) return;
    if (!SendAll(fd, std::string(buffer, static_cast<size_t>(r)))) return;
  }
}

TEST(ThrottleProxyTest, ForwardsBothWaysUnchangedAndCountsBytes) {
  TestServer server(Echo);
  auto proxy = ThrottleProxy::Start({server.port()});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const int fd = ConnectTo((*proxy)->port());
  ASSERT_GE(fd, 0);
  const std::string data = Pattern(300 * 1000);
  std::thread writer([&] { SendAll(fd, data); });
  std::string echoed;
  const bool received = RecvExactly(fd, data.size(), &echoed, absl::Seconds(20));
  writer.join();
  ASSERT_TRUE(received) << "got " << echoed.size() << " of " << data.size() << " bytes back";
  EXPECT_TRUE(echoed == data) << "the bytes changed on the way";
  EXPECT_EQ((*proxy)->upstream_bytes(), data.size());
  EXPECT_EQ((*proxy)->downstream_bytes(), data.size());
  EXPECT_EQ((*proxy)->connections_accepted(), 1u);
  close(fd);
}

// Sends `bytes` through a proxy limited to `rate` in the direction under test and returns how
// long the far side took to receive them all.
absl::Duration TimedTransfer(bool upstream, double rate, size_t bytes) {
  const std::string data = Pattern(bytes);
  std::atomic<int64_t> received_ns{0};
  // Upstream: the client sends, the server counts. Downstream: the server sends.
  TestServer server([&](int fd) {
    if (upstream) {
      std::string got;
      const absl::Time start = absl::Now();
      if (RecvExactly(fd, bytes, &got, absl::Seconds(60))) {
        received_ns = absl::ToInt64Nanoseconds(absl::Now() - start);
      }
    } else {
      SendAll(fd, data);
      char b;
      recv(fd, &b, 1, 0);  // until the client closes
    }
  });
  auto proxy = ThrottleProxy::Start({server.port(), 0, upstream ? rate : 0, upstream ? 0 : rate});
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  if (!proxy.ok()) return absl::ZeroDuration();
  const int fd = ConnectTo((*proxy)->port());
  EXPECT_GE(fd, 0);
  absl::Duration took;
  if (upstream) {
    SendAll(fd, data);
    EXPECT_TRUE(WaitUntil([&] { return received_ns.load() != 0; }, absl::Seconds(60)));
    took = absl::Nanoseconds(received_ns.load());
  } else {
    std::string got;
    const absl::Time start = absl::Now();
    EXPECT_TRUE(RecvExactly(fd, bytes, &got, absl::Seconds(60)));
    took = absl::Now() - start;
  }
  EXPECT_EQ(upstream ? (*proxy)->upstream_bytes() : (*proxy)->downstream_bytes(), bytes);
  close(fd);
  return took;
}

TEST(ThrottleProxyTest, UpstreamRateIsRespectedWithinTenPercent) {
  const double rate = 10e6 / 8;      // 10 Mbit/s
  const size_t bytes = 2500 * 1000;  // 2 s at that rate
  const absl::Duration took = TimedTransfer(/*upstream=*/true, rate, bytes);
  const double seconds = absl::ToDoubleSeconds(took), expected = bytes / rate;
  EXPECT_NEAR(seconds, expected, 0.1 * expected) << "effective rate " << bytes / seconds << " B/s";
}

TEST(ThrottleProxyTest, DownstreamRateIsRespectedWithinTenPercent) {
  const double rate = 4e6 / 8;      // 4 Mbit/s
  const size_t bytes = 750 * 1000;  // 1.5 s
  const absl::Duration took = TimedTransfer(/*upstream=*/false, rate, bytes);
  const double seconds = absl::ToDoubleSeconds(took), expected = bytes / rate;
  EXPECT_NEAR(seconds, expected, 0.1 * expected) << "effective rate " << bytes / seconds << " B/s";
}

TEST(ThrottleProxyTest, CutAllEndsOpenConnectionsAtBothEndsAndNewOnesStillWork) {
  std::atomic<int> server_saw_close{0};
  TestServer server([&](int fd) {
    char buffer[65536];
    while (recv(fd, buffer, sizeof(buffer), 0) > 0) {
    }
    ++server_saw_close;
  });
  // Slow enough that the upload is still in flight when it is cut.
  auto proxy = ThrottleProxy::Start({server.port(), 0, 200 * 1000, 0});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const int a = ConnectTo((*proxy)->port());
  const int b = ConnectTo((*proxy)->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::thread upload([&] { SendAll(a, Pattern(2000 * 1000)); });  // 10 s at this rate
  ASSERT_TRUE(WaitUntil([&] { return (*proxy)->upstream_bytes() > 0; }, absl::Seconds(5)))
      << "nothing was forwarded";
  ASSERT_TRUE(WaitUntil([&] { return (*proxy)->open_connections() == 2; }, absl::Seconds(5)));
  EXPECT_EQ((*proxy)->CutAll(), 2);
  EXPECT_TRUE(SeesClosed(b, absl::Seconds(5))) << "the client did not see its connection end";
  upload.join();  // send() fails once the proxy's side is gone
  close(a);
  close(b);
  EXPECT_LT((*proxy)->upstream_bytes(), 2000u * 1000u);
  ASSERT_TRUE(WaitUntil([&] { return server_saw_close.load() == 2; }, absl::Seconds(5)))
      << "the server did not see both connections end";
  EXPECT_EQ((*proxy)->open_connections(), 0u);

  // The proxy still forwards new connections.
  (*proxy)->SetRates(0, 0);
  const uint64_t before = (*proxy)->upstream_bytes();
  const int c = ConnectTo((*proxy)->port());
  ASSERT_GE(c, 0);
  ASSERT_TRUE(SendAll(c, Pattern(1000)));
  close(c);
  ASSERT_TRUE(WaitUntil([&] { return server_saw_close.load() == 3; }, absl::Seconds(5)));
  EXPECT_EQ((*proxy)->upstream_bytes() - before, 1000u);
}

TEST(ThrottleProxyTest, ClientSeesClosedConnectionWhenTheTargetIsDown) {
  int port;
  {
    TestServer gone(Echo);
    port = gone.port();
  }
  auto proxy = ThrottleProxy::Start({port});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  const int fd = ConnectTo((*proxy)->port());
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SeesClosed(fd, absl::Seconds(5)));
  close(fd);
}

}  // namespace
}  // namespace scancov::testing_process
