// GrpcFederationClient: the production FederationClient, over gRPC with mutual TLS. The node
// only dials out; it presents its site certificate and trusts only the consortium CA.
#ifndef SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_
#define SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "protocol/federation_client.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.grpc.pb.h"

namespace scancov::node {

struct GrpcClientOptions {
  absl::Duration unary_timeout = absl::Seconds(30);
  absl::Duration stream_timeout = absl::Minutes(10);
  uint32_t chunk_bytes = 0;  // 0: protocol default
};

class GrpcFederationClient : public protocol::FederationClient {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcFederationClient>> Create(
      const std::string& target, const protocol::TlsFiles& tls, const std::string& server_name = "",
      GrpcClientOptions options = {});
  // Over an existing channel (tests: e.g. a plaintext channel that must be refused).
  GrpcFederationClient(std::shared_ptr<grpc::Channel> channel, GrpcClientOptions options);

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) override;
  absl::StatusOr<v1::PullTaskResponse> PullTask() override;
  absl::StatusOr<protocol::TensorSet> DownloadWeights(const std::string& task_id,
                                                      const std::string& checkpoint_id) override;
  absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision& decision) override;
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& header,
                                                  const protocol::TensorSet* weights) override;

 private:
  std::unique_ptr<v1::Federation::Stub> stub_;
  GrpcClientOptions options_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_
