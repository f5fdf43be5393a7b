// InProcessFederationClient: a FederationClient that calls a Federation in the same process, as
// one fixed caller. Whole federations run inside a unit test with it; weights still go through
// the chunked, hashed codec, as they would on the wire.
#ifndef SCANCOV_AGGREGATOR_IN_PROCESS_CLIENT_H_
#define SCANCOV_AGGREGATOR_IN_PROCESS_CLIENT_H_

#include "aggregator/server/federation.h"
#include "protocol/federation_client.h"

namespace scancov::aggregator {

class InProcessFederationClient : public protocol::FederationClient {
 public:
  // `federation` must outlive the client.
  InProcessFederationClient(Federation* federation, Caller caller, uint32_t chunk_bytes = 4096)
      : federation_(federation), caller_(std::move(caller)), chunk_bytes_(chunk_bytes) {}

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& request) override;
  absl::StatusOr<v1::PullTaskResponse> PullTask() override;
  absl::StatusOr<protocol::TensorSet> DownloadWeights(const std::string& task_id,
                                                      const std::string& checkpoint_id) override;
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& header,
                                                  const protocol::TensorSet* weights) override;
  absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision& decision) override {
    return federation_->ReportDecision(caller_, decision);
  }
  absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& request) override {
    return federation_->SecAgg(caller_, request);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& request) override {
    return federation_->Heartbeat(caller_, request);
  }
  absl::StatusOr<v1::ServerTimeResponse> ServerTime() override {
    return federation_->ServerTime(caller_);
  }

 private:
  Federation* federation_;
  Caller caller_;
  uint32_t chunk_bytes_;
};

// Encodes and re-assembles `set` through the stream codec (what the wire does).
absl::StatusOr<protocol::TensorSet> ThroughCodec(const protocol::TensorSet& set,
                                                 uint32_t chunk_bytes);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_IN_PROCESS_CLIENT_H_
