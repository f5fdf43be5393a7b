// A step-by-step connection to the aggregator for `scancov-node check` (node/preflight.h): name
// resolution, TCP connect, then a TLS handshake with the site's certificate, each with its own
// failure, so that the steward learns which one stopped the node (gRPC reports all of them as
// UNAVAILABLE with a transport message). The handshake checks the aggregator's certificate as
// the node's channel does: against the consortium CA, for the name the node dials.
//
// After a good handshake the probe sends HTTP/2's client preface and reads the aggregator's
// first bytes: an aggregator that does not accept the site's certificate (TLS 1.3 tells the
// client only after its handshake) answers with an alert instead of its settings. The probe
// sends no request.
//
// Thread safety: thread-safe (no shared state).
#ifndef SCANCOV_NODE_TLS_PROBE_H_
#define SCANCOV_NODE_TLS_PROBE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace scancov::node {

struct HostPort {
  std::string host;  // a name or an address, without brackets
  std::string port;
};

// "host:port", "[v6]:port" or "dns:///host:port"; InvalidArgument naming `target` otherwise.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view target);

struct TlsProbeOptions {
  std::string target;       // host:port
  std::string server_name;  // the name the certificate must carry; empty: the host
  std::string ca_pem;       // the consortium CA
  std::string cert_pem;     // the site's certificate and key
  std::string key_pem;
  absl::Duration timeout = absl::Seconds(10);  // for the whole probe
};

struct TlsProbeResult {
  enum class Stage {
    kCredentials,  // the site's own CA, certificate or key cannot be used (nothing was sent)
    kResolve,      // the host name does not resolve
    kConnect,      // no address accepted a TCP connection (refused, unreachable, timed out)
    kHandshake,    // the TLS handshake failed (see verify)
    kPeerRefused,  // the aggregator refused the site's certificate after the handshake
    kDone,         // everything worked
  };
  enum class Verify {
    kOk,
    kUntrusted,     // the chain does not lead to the site's CA
    kNameMismatch,  // the certificate is not for the name dialled
    kTime,          // expired or not yet valid by this machine's clock
    kOther,
  };
  Stage stage = Stage::kResolve;
  Verify verify = Verify::kOk;
  std::string error;    // why the failing stage failed (OpenSSL's or the system's words)
  std::string address;  // the address connected to ("" before kConnect succeeded)
  std::string name;     // the name checked on the certificate
  // The leaf certificate the aggregator presented (PEM), whenever the handshake got it, even
  // when it did not verify.
  std::string peer_certificate_pem;
};

// Never fails as a call: every failure is described in the result.
TlsProbeResult ProbeTls(const TlsProbeOptions& options);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TLS_PROBE_H_
