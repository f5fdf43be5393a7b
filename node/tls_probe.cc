#include "node/tls_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/openssl_util.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

using Stage = TlsProbeResult::Stage;
using Verify = TlsProbeResult::Verify;
using SslCtxPtr = openssl::OpenSslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = openssl::OpenSslPtr<SSL, SSL_free>;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Blocks SIGPIPE on this thread while it lives, and discards one raised meanwhile: writing to an
// aggregator that already closed the connection (it refused the site) must not kill the process.
class SigPipeBlock {
 public:
  SigPipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  SigPipeBlock(const SigPipeBlock&) = delete;
  SigPipeBlock& operator=(const SigPipeBlock&) = delete;
  ~SigPipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1 && sigismember(&old_, SIGPIPE) == 0) {
      const timespec zero = {0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
};

int MillisLeft(absl::Time deadline) {
  return static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the next call report the error
  }
}

bool IsIpAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string AddressText(const addrinfo& ai) {
  char host[NI_MAXHOST] = {}, port[NI_MAXSERV] = {};
  if (getnameinfo(ai.ai_addr, ai.ai_addrlen, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return ai.ai_family == AF_INET6 ? absl::StrCat("[", host, "]:", port)
                                  : absl::StrCat(host, ":", port);
}

// A connected socket to `ai`, or -1 with *error set (ETIMEDOUT when the deadline passed).
int ConnectOne(const addrinfo& ai, absl::Time deadline, int* error) {
  const int fd =
      socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  if (connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    *error = errno;
    close(fd);
    return -1;
  }
  if (!WaitFor(fd, POLLOUT, deadline)) {
    *error = ETIMEDOUT;
    close(fd);
    return -1;
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) {
    *error = so_error;
    close(fd);
    return -1;
  }
  return fd;
}

absl::Status LoadCredentials(SSL_CTX* ctx, const TlsProbeOptions& options) {
  openssl::ClearOpenSslErrors();
  openssl::BioPtr ca(
      BIO_new_mem_buf(options.ca_pem.data(), static_cast<int>(options.ca_pem.size())));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int cas = 0;
  while (X509* c = PEM_read_bio_X509(ca.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, c);
    X509_free(c);
    ++cas;
  }
  openssl::ClearOpenSslErrors();  // the end of the PEM data
  if (cas == 0) return absl::InvalidArgumentError("the CA file holds no PEM certificate");
  openssl::BioPtr cert(
      BIO_new_mem_buf(options.cert_pem.data(), static_cast<int>(options.cert_pem.size())));
  openssl::X509Ptr leaf(PEM_read_bio_X509(cert.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return openssl::OpenSslError("site certificate", absl::StatusCode::kInvalidArgument);
  }
  while (X509* extra = PEM_read_bio_X509(cert.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add_extra_chain_cert(ctx, extra);  // takes ownership
  }
  openssl::ClearOpenSslErrors();
  openssl::BioPtr key(
      BIO_new_mem_buf(options.key_pem.data(), static_cast<int>(options.key_pem.size())));
  openssl::EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr || SSL_CTX_use_PrivateKey(ctx, pkey.get()) != 1) {
    return openssl::OpenSslError("site key", absl::StatusCode::kInvalidArgument);
  }
  return absl::OkStatus();
}

// What the verify callback saw of the aggregator's chain.
struct VerifyState {
  std::string leaf_pem;
  int error = X509_V_OK;
};

std::string CertificateToPem(X509* cert) {
  openssl::BioPtr out(BIO_new(BIO_s_mem()));
  if (out == nullptr || PEM_write_bio_X509(out.get(), cert) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

extern "C" int RecordingVerifyCallback(int preverify_ok, X509_STORE_CTX* ctx) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state = static_cast<VerifyState*>(SSL_get_app_data(ssl));
  if (state->leaf_pem.empty() && X509_STORE_CTX_get0_cert(ctx) != nullptr) {
    state->leaf_pem = CertificateToPem(X509_STORE_CTX_get0_cert(ctx));
  }
  if (!preverify_ok && state->error == X509_V_OK) state->error = X509_STORE_CTX_get_error(ctx);
  return preverify_ok;
}

Verify Classify(int error) {
  switch (error) {
    case X509_V_OK:
      return Verify::kOk;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return Verify::kUntrusted;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return Verify::kNameMismatch;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Verify::kTime;
    default:
      return Verify::kOther;
  }
}

// The OpenSSL error queue's text, or the system's when the queue is empty.
std::string SslFailure(SSL* ssl, int rc, const std::string& what) {
  const int err = SSL_get_error(ssl, rc);
  if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return what + ": the aggregator closed the connection";
  }
  if (ERR_peek_error() != 0) return std::string(openssl::OpenSslError(what).message());
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) {
    return what + ": the aggregator closed the connection";
  }
  if (err == SSL_ERROR_SYSCALL) return absl::StrCat(what, ": ", std::strerror(errno));
  return absl::StrCat(what, ": SSL error ", err);
}

// Resolves and connects; fills result on failure and returns -1.
int Connect(const HostPort& hp, absl::Time deadline, TlsProbeResult* result) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int gai = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found);
  if (gai != 0) {
    result->stage = Stage::kResolve;
    result->error = gai_strerror(gai);
    return -1;
  }
  result->stage = Stage::kConnect;
  std::string tried;
  int fd = -1;
  for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    int error = 0;
    fd = ConnectOne(*ai, deadline, &error);
    if (fd >= 0) {
      result->address = AddressText(*ai);
    } else {
      absl::StrAppend(&tried, tried.empty() ? "" : "; ", AddressText(*ai), ": ",
                      error == ETIMEDOUT ? "no answer (timed out)" : std::strerror(error));
    }
  }
  freeaddrinfo(found);
  if (fd < 0) result->error = tried;
  return fd;
}

// The TLS handshake on `fd`; fills result and returns false on failure.
bool Handshake(SSL* ssl, int fd, absl::Time deadline, VerifyState* state, TlsProbeResult* result) {
  result->stage = Stage::kHandshake;
  openssl::ClearOpenSslErrors();
  for (;;) {
    errno = 0;
    const int rc = SSL_connect(ssl);
    if (rc == 1) return true;
    const int err = SSL_get_error(ssl, rc);
    const short events =
        err == SSL_ERROR_WANT_READ ? POLLIN : (err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0);
    if (events == 0) {
      result->verify = Classify(state->error);
      result->error = state->error != X509_V_OK ? X509_verify_cert_error_string(state->error)
                                                : SslFailure(ssl, rc, "TLS handshake");
      openssl::ClearOpenSslErrors();
      return false;
    }
    if (!WaitFor(fd, events, deadline)) {
      result->error = "no TLS answer before the deadline (is this port the aggregator's?)";
      return false;
    }
  }
}

// Sends HTTP/2's client preface and an empty SETTINGS frame, then reads until the aggregator
// answers (it accepted the site's certificate), refuses (an alert, or a close), or `until`.
bool PeerAccepts(SSL* ssl, int fd, absl::Time until, TlsProbeResult* result) {
  static constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
  const int preface_size = sizeof kPreface - 1;
  result->stage = Stage::kPeerRefused;
  for (;;) {
    errno = 0;
    const int rc = SSL_write(ssl, kPreface, preface_size);
    if (rc > 0) break;
    const int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      result->error = SslFailure(ssl, rc, "TLS");
      openssl::ClearOpenSslErrors();
      return false;
    }
    if (!WaitFor(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until)) return true;
  }
  char buffer[512];
  for (;;) {
    errno = 0;
    const int rc = SSL_read(ssl, buffer, sizeof buffer);
    if (rc > 0) return true;
    const int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      result->error = SslFailure(ssl, rc, "TLS");
      openssl::ClearOpenSslErrors();
      return false;
    }
    // No answer yet is not a refusal: the authenticated call that follows will tell.
    if (!WaitFor(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until)) return true;
  }
}

}  // namespace

absl::StatusOr<HostPort> SplitHostPort(absl::string_view target) {
  absl::string_view t = target;
  if (absl::StartsWith(t, "dns:///")) t.remove_prefix(7);
  HostPort hp;
  if (absl::StartsWith(t, "[")) {
    const size_t close = t.find(']');
    if (close == absl::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("'", target, "' is not [address]:port"));
    }
    hp.host = std::string(t.substr(1, close - 1));
    hp.port = std::string(t.substr(close + 2));
  } else {
    const size_t colon = t.rfind(':');
    if (colon == absl::string_view::npos || t.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat("'", target, "' is not host:port"));
    }
    hp.host = std::string(t.substr(0, colon));
    hp.port = std::string(t.substr(colon + 1));
  }
  if (hp.host.empty() || hp.port.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", target, "' is not host:port"));
  }
  return hp;
}

TlsProbeResult ProbeTls(const TlsProbeOptions& options) {
  const SigPipeBlock no_sigpipe;
  TlsProbeResult result;
  const absl::Time deadline = absl::Now() + options.timeout;
  absl::StatusOr<HostPort> hp = SplitHostPort(options.target);
  if (!hp.ok()) {
    result.error = std::string(hp.status().message());
    return result;
  }
  result.name = options.server_name.empty() ? hp->host : options.server_name;
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    result.stage = Stage::kCredentials;
    result.error = std::string(openssl::OpenSslError("TLS context").message());
    return result;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (absl::Status loaded = LoadCredentials(ctx.get(), options); !loaded.ok()) {
    result.stage = Stage::kCredentials;
    result.error = std::string(loaded.message());
    return result;
  }
  Socket fd(Connect(*hp, deadline, &result));
  if (fd.get() < 0) return result;

  VerifyState state;
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_app_data(ssl.get(), &state);
  SSL_set_verify(ssl.get(), SSL_VERIFY_PEER, RecordingVerifyCallback);
  static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  if (IsIpAddress(result.name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, result.name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), result.name.c_str());
    X509_VERIFY_PARAM_set1_host(param, result.name.c_str(), 0);
  }
  SSL_set_fd(ssl.get(), fd.get());
  const bool handshaken = Handshake(ssl.get(), fd.get(), deadline, &state, &result);
  result.peer_certificate_pem = state.leaf_pem;
  if (!handshaken) return result;
  if (!PeerAccepts(ssl.get(), fd.get(), std::min(deadline, absl::Now() + absl::Seconds(2)),
                   &result)) {
    return result;
  }
  result.stage = Stage::kDone;
  result.error.clear();
  return result;
}

}  // namespace scancov::node
