// ForwardingFederationClient: a FederationClient that passes every call to another, for tests
// that change one answer of the aggregator (a dropped upload, a heartbeat saying the task no
// longer counts) and leave the rest as they are: override only the calls that differ.
#ifndef SCANCOV_NODE_FORWARDING_CLIENT_TEST_UTIL_H_
#define SCANCOV_NODE_FORWARDING_CLIENT_TEST_UTIL_H_

#include <string>

#include "protocol/federation_client.h"

namespace scancov::node {

class ForwardingFederationClient : public protocol::FederationClient {
 public:
  // `inner` must outlive this client.
  explicit ForwardingFederationClient(protocol::FederationClient* inner) : inner_(inner) {}

  absl::StatusOr<v1::RegisterResponse> Register(const v1::RegisterRequest& r) override {
    return inner_->Register(r);
  }
  absl::StatusOr<v1::PullTaskResponse> PullTask() override { return inner_->PullTask(); }
  absl::StatusOr<protocol::TensorSet> DownloadWeights(const std::string& task_id,
                                                      const std::string& checkpoint_id) override {
    return inner_->DownloadWeights(task_id, checkpoint_id);
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader& h,
                                                  const protocol::TensorSet* w) override {
    return inner_->UploadResult(h, w);
  }
  absl::StatusOr<v1::UploadStatusResponse> UploadStatus(const v1::UploadStatusRequest& r) override {
    return inner_->UploadStatus(r);
  }
  absl::StatusOr<v1::DecisionAck> ReportDecision(const v1::StudyDecision& d) override {
    return inner_->ReportDecision(d);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& r) override {
    return inner_->Heartbeat(r);
  }
  absl::StatusOr<v1::ServerTimeResponse> ServerTime() override { return inner_->ServerTime(); }
  absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& r) override {
    return inner_->SecAgg(r);
  }

 protected:
  protocol::FederationClient* inner() { return inner_; }

 private:
  protocol::FederationClient* inner_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_FORWARDING_CLIENT_TEST_UTIL_H_
