// gRPC glue shared by the node, the aggregator and the coordinator CLI: status conversion and
// mutual-TLS channel and server credentials from PEM files.
#ifndef SCANCOV_PROTOCOL_GRPC_UTIL_H_
#define SCANCOV_PROTOCOL_GRPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protocol/scancov.grpc.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::protocol {

// absl and gRPC share the canonical code numbering, so codes map one to one.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& where);

// PEM files of one TLS identity plus the consortium CA that verifies the peer.
struct TlsFiles {
  std::string ca_cert;  // consortium CA certificate
  std::string cert;     // this party's certificate (chain)
  std::string key;      // this party's private key
};

// An extra check of the server's certificate (the leaf, PEM), e.g. against a revocation list:
// OK accepts, anything else refuses the server.
using ServerCertificateCheck =
    std::function<absl::Status(absl::string_view server_certificate_pem)>;

// A channel that presents `files.cert` and trusts only `files.ca_cert`. `server_name`, when
// set, is the name checked against the server certificate instead of the host in `target`.
// `max_receive_bytes` > 0 raises gRPC's 4 MB limit on one received message.
// `check`, when set, runs inside every TLS handshake, after the chain has been verified against
// the CA and the host name checked: a refusal fails the handshake, so not one byte of a call
// reaches a refused server (calls then fail UNAVAILABLE; the caller learns why from `check`).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMtlsChannel(
    const std::string& target, const TlsFiles& files, const std::string& server_name = "",
    int max_receive_bytes = 0, ServerCertificateCheck check = nullptr);

// Server credentials that require and verify a client certificate from the consortium CA.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeMtlsServerCredentials(
    const TlsFiles& files);

// Reads a manifest-then-chunks stream into a verified TensorSet, then finishes the call.
absl::StatusOr<TensorSet> ReadWeightsStream(
    grpc::ClientReaderInterface<v1::WeightsMessage>* reader);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_GRPC_UTIL_H_
