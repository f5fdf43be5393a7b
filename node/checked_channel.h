// CheckedChannel: the node's channel to the aggregator when the site has a CRL (the site file's
// "crl"). The aggregator's certificate is checked against the CRL inside every TLS handshake
// (protocol::MakeMtlsChannel's check), not after a call: a check after the handshake could only
// look at the certificate once a request, perhaps weights, had already been sent to a revoked
// aggregator. Because gRPC keeps a connection open for as long as it works, the channel is made
// anew (a new connection, so a new handshake and check) whenever the CRL file brings a new CRL:
// a revocation reaches the next call without restarting the node.
//
// Thread safety: thread-safe.
#ifndef SCANCOV_NODE_CHECKED_CHANNEL_H_
#define SCANCOV_NODE_CHECKED_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "protocol/grpc_util.h"

namespace scancov::sites {
class RevocationChecker;
}  // namespace scancov::sites

namespace scancov::node {

class CheckedChannel {
 public:
  // Fails when the CRL is missing, malformed or not signed by the CA of tls.ca_cert.
  static absl::StatusOr<std::unique_ptr<CheckedChannel>> Open(const std::string& target,
                                                              const protocol::TlsFiles& tls,
                                                              const std::string& server_name,
                                                              const std::string& crl_path);
  ~CheckedChannel();

  // The channel for the next call: the current one, or a new one when the CRL changed since the
  // current one was made.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Get();

  // A failed call's status, explained: UNAVAILABLE while the last handshake check refused the
  // aggregator becomes that refusal (Unauthenticated, naming the serial and the reason).
  absl::Status Explain(absl::Status status) const;

 private:
  CheckedChannel(std::string target, protocol::TlsFiles tls, std::string server_name,
                 std::shared_ptr<sites::RevocationChecker> checker);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Make();

  const std::string target_;
  const protocol::TlsFiles tls_;
  const std::string server_name_;
  const std::shared_ptr<sites::RevocationChecker> checker_;
  // The last handshake check's refusal (OK after an accepted handshake); written by gRPC's
  // threads through the check, read by Explain.
  struct Verdict {
    mutable absl::Mutex mu;
    absl::Status refusal ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<Verdict> verdict_;
  absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  uint64_t channel_crl_number_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CHECKED_CHANNEL_H_
