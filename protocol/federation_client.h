// FederationClient: the seam between a node's round logic and the network (Flower's `Grid`).
//
// The node's agent talks only to this interface. Production uses the gRPC implementation
// (node/grpc_federation_client.h, mutual TLS); tests run whole federations in one process with
// the in-process implementation (aggregator/in_process_client.h), which goes through the same
// chunked, hashed weights codec.
//
// Every call is idempotent by task id, so a caller may retry any failed call.
// Implementations are thread-compatible (one agent thread uses one client).
#ifndef SCANCOV_PROTOCOL_FEDERATION_CLIENT_H_
#define SCANCOV_PROTOCOL_FEDERATION_CLIENT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::protocol {

class FederationClient {
 public:
  virtual ~FederationClient() = default;

  virtual absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) = 0;
  virtual absl::StatusOr<v1::PullTaskResponse> PullTask() = 0;
  // Downloads and verifies (per-chunk and whole-set SHA-256) the checkpoint a task refers to.
  virtual absl::StatusOr<TensorSet> DownloadWeights(const std::string& task_id,
                                                    const std::string& checkpoint_id) = 0;
  // Uploads a result; `weights` is streamed in hashed chunks when present.
  virtual absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& header,
                                                          const TensorSet* weights) = 0;
  // How much of an upload (task, payload hash, chunk size) the aggregator already holds, so an
  // interrupted upload resumes instead of starting over. Unimplemented (this default) for an
  // aggregator or client that cannot resume: the caller then sends everything.
  virtual absl::StatusOr<v1::UploadStatusResponse> UploadStatus(
      const v1::UploadStatusRequest& request) {
    (void)request;
    return absl::UnimplementedError("UploadStatus: resumable uploads not supported");
  }
  // Reports the site's decision on a study (node/approvals.h).
  virtual absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision& decision) = 0;
  // Tells the aggregator the node is alive and working on a task (protocol 2). Default:
  // Unimplemented (a client that sends none).
  virtual absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) {
    return absl::UnimplementedError("Heartbeat is not supported by this client");
  }
  // The aggregator's clock, for the preflight (node/preflight.h); changes nothing there.
  // Default: Unimplemented (as an aggregator older than the call answers).
  virtual absl::StatusOr<v1::ServerTimeResponse> ServerTime() {
    return absl::UnimplementedError("ServerTime is not supported by this client");
  }
  // One phase of secure aggregation for a task (the SecAgg RPC). Default: Unimplemented.
  virtual absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& request) {
    return absl::UnimplementedError("SecAgg is not supported by this client");
  }
};

}  // namespace scancov::protocol

#endif  // SCANCOV_PROTOCOL_FEDERATION_CLIENT_H_
