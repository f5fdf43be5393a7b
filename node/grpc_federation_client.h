// GrpcFederationClient: the production FederationClient, over gRPC with mutual TLS. The node
// only dials out; it presents its site certificate and trusts only the consortium CA, and,
// with a CRL, refuses an aggregator whose certificate is revoked (node/checked_channel.h):
// calls then fail Unauthenticated naming the serial and the reason, which the agent does not
// retry.
//
// Transfers resume and are cut only when they stop moving:
//  - an upload first asks UploadStatus how many chunks of this payload (task, hash, chunk size)
//    the aggregator already holds and sends the rest (everything for an aggregator without
//    UploadStatus); a result already accepted is answered `duplicate` without sending;
//  - a checkpoint download cut half-way keeps its verified prefix in memory (the last
//    checkpoint only) and the next download of the same checkpoint asks from the next chunk;
//  - streams have no overall deadline: a ProgressWatchdog (protocol/progress_watchdog.h)
//    cancels one when no message has moved for `idle_timeout` (DEADLINE_EXCEEDED, which the
//    agent retries); unary calls keep `unary_timeout`;
//  - once an upload's last chunk is written, the call is cut only when the aggregator stops
//    moving on it: the node asks UploadStatus (node/upload_follower.h) while the link drains and
//    the aggregator verifies, stores and aggregates, instead of timing the silent stream.
//
// Thread safety: thread-safe.
#ifndef SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_
#define SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/checked_channel.h"
#include "node/upload_follower.h"
#include "protocol/federation_client.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.grpc.pb.h"

namespace scancov::node {

struct GrpcClientOptions {
  absl::Duration unary_timeout = absl::Seconds(30);
  // A stream is cut after this long without a message written or read (not a total deadline:
  // a slow upload that moves is never cut).
  absl::Duration idle_timeout = absl::Seconds(60);
  uint32_t chunk_bytes = 0;  // 0: protocol default
  // How long PullTask asks the aggregator to hold the call when it has no task (protocol 2).
  absl::Duration long_poll = absl::Seconds(20);
  // A CRL signed by the consortium CA (the site file's "crl"); empty: the aggregator's
  // certificate is not checked for revocation. Create fails on a CRL that is missing,
  // malformed or not signed by the CA.
  std::string crl;
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
  absl::StatusOr<v1::UploadStatusResponse> UploadStatus(
      const v1::UploadStatusRequest& request) override;
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override;
  absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& request) override;
  absl::StatusOr<v1::ServerTimeResponse> ServerTime() override;

 private:
  GrpcFederationClient(std::unique_ptr<CheckedChannel> checked, GrpcClientOptions options);
  // The stub for the next call (over a new channel when the CRL changed).
  absl::StatusOr<std::shared_ptr<v1::Federation::Stub>> Stub();
  // A failed call's status; a refusal of the aggregator by the CRL check replaces UNAVAILABLE.
  absl::Status Explain(absl::Status status) const;
  // The chunk to resume an upload of `manifest` from (0 without UploadStatus); nullopt when
  // the aggregator already accepted the task's result.
  absl::StatusOr<std::optional<uint32_t>> ResumePoint(const std::string& task_id,
                                                      const v1::WeightsManifest& manifest);
  // The question an UploadFollower asks about the upload of `manifest` for `task_id`.
  UploadFollower::Ask FollowUpload(std::shared_ptr<v1::Federation::Stub> stub,
                                   const std::string& task_id, const v1::WeightsManifest& manifest);

  // What Register negotiated (unset before it): long poll and heartbeats from version 2 on.
  std::atomic<int> protocol_version_{v1::PROTOCOL_VERSION_UNSPECIFIED};
  // The verified beginning of the last checkpoint download that was cut.
  struct PartialDownload {
    std::string checkpoint_id;
    v1::WeightsManifest manifest;
    std::string prefix;  // chunks [0, prefix.size() / chunk_bytes)
  };

  const GrpcClientOptions options_;
  const std::unique_ptr<CheckedChannel> checked_;  // null without a CRL
  absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<v1::Federation::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::optional<PartialDownload> partial_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_GRPC_FEDERATION_CLIENT_H_
