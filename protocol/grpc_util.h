// gRPC glue shared by the node, the aggregator and the coordinator CLI: status conversion and
// mutual-TLS channel and server credentials from PEM files.
#ifndef SCANCOV_PROTOCOL_GRPC_UTIL_H_
#define SCANCOV_PROTOCOL_GRPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
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

// A channel that presents `files.cert` and trusts only `files.ca_cert`. `server_name`, when
// set, is the name checked against the server certificate instead of the host in `target`.
// `max_receive_bytes` > 0 raises gRPC's 4 MB limit on one received message.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMtlsChannel(const std::string& target,
                                                               const TlsFiles& files,
                                                               const std::string& server_name = "",
                                                               int max_receive_bytes = 0);

// Server credentials that require and verify a client certificate from the consortium CA.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeMtlsServerCredentials(
    const TlsFiles& files);

// Reads a manifest-then-chunks stream into a verified TensorSet, then finishes the call.
absl::StatusOr<TensorSet> ReadWeightsStream(
    grpc::ClientReaderInterface<v1::WeightsMessage>* reader);

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_GRPC_UTIL_H_
