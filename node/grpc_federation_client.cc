#include "node/grpc_federation_client.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcFederationClient>> GrpcFederationClient::Create(
    const std::string& target, const protocol::TlsFiles& tls, const std::string& server_name,
    GrpcClientOptions options) {
  if (!options.crl.empty()) {
    SCV_ASSIGN_OR_RETURN(std::unique_ptr<CheckedChannel> checked,
                         CheckedChannel::Open(target, tls, server_name, options.crl));
    return std::unique_ptr<GrpcFederationClient>(
        new GrpcFederationClient(std::move(checked), std::move(options)));
  }
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                       protocol::MakeMtlsChannel(target, tls, server_name));
  return std::make_unique<GrpcFederationClient>(std::move(channel), options);
}

GrpcFederationClient::GrpcFederationClient(std::shared_ptr<grpc::Channel> channel,
                                           GrpcClientOptions options)
    : options_(std::move(options)),
      channel_(channel),
      stub_(v1::Federation::NewStub(std::move(channel))) {}

GrpcFederationClient::GrpcFederationClient(std::unique_ptr<CheckedChannel> checked,
                                           GrpcClientOptions options)
    : options_(std::move(options)), checked_(std::move(checked)) {}

absl::StatusOr<std::shared_ptr<v1::Federation::Stub>> GrpcFederationClient::Stub() {
  if (checked_ == nullptr) {
    absl::MutexLock lock(&mu_);
    return stub_;
  }
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, checked_->Get());
  absl::MutexLock lock(&mu_);
  if (channel != channel_) {
    channel_ = channel;
    stub_ = v1::Federation::NewStub(std::move(channel));
  }
  return stub_;
}

absl::Status GrpcFederationClient::Explain(absl::Status status) const {
  return checked_ == nullptr ? status : checked_->Explain(std::move(status));
}

absl::StatusOr<v1::RegisterResponse> GrpcFederationClient::Register(
    const v1::RegisterRequest& request) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::RegisterResponse response;
  SCV_RETURN_IF_ERROR(
      Explain(protocol::FromGrpcStatus(stub->Register(&context, request, &response), "Register")));
  return response;
}

absl::StatusOr<v1::PullTaskResponse> GrpcFederationClient::PullTask() {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::PullTaskResponse response;
  SCV_RETURN_IF_ERROR(Explain(protocol::FromGrpcStatus(
      stub->PullTask(&context, v1::PullTaskRequest(), &response), "PullTask")));
  return response;
}

absl::StatusOr<v1::DecisionAck> GrpcFederationClient::ReportDecision(
    const v1::StudyDecision& decision) {
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::DecisionAck response;
  SCV_RETURN_IF_ERROR(protocol::FromGrpcStatus(stub_->ReportDecision(&context, decision, &response),
                                               "ReportDecision"));
  return response;
}

absl::StatusOr<protocol::TensorSet> GrpcFederationClient::DownloadWeights(
    const std::string& task_id, const std::string& checkpoint_id) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.stream_timeout);
  v1::DownloadWeightsRequest request;
  request.set_task_id(task_id);
  request.set_checkpoint_id(checkpoint_id);
  request.set_chunk_bytes(options_.chunk_bytes);
  std::unique_ptr<grpc::ClientReader<v1::WeightsMessage>> reader =
      stub->DownloadWeights(&context, request);
  absl::StatusOr<protocol::TensorSet> set = protocol::ReadWeightsStream(reader.get());
  if (!set.ok()) return Explain(set.status());
  return set;
}

absl::StatusOr<v1::UploadResponse> GrpcFederationClient::UploadResult(
    const v1::UploadHeader& header, const protocol::TensorSet* weights) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.stream_timeout);
  v1::UploadResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::UploadMessage>> writer =
      stub->UploadResult(&context, &response);
  v1::UploadMessage message;
  *message.mutable_header() = header;
  message.mutable_header()->set_has_weights(weights != nullptr);
  bool ok = writer->Write(message);
  if (ok && weights != nullptr) {
    protocol::WeightsEncoder encoder(*weights, options_.chunk_bytes);
    message.Clear();
    *message.mutable_manifest() = encoder.manifest();
    ok = writer->Write(message);
    v1::WeightsChunk chunk;
    while (ok && encoder.Next(&chunk)) {
      message.Clear();
      *message.mutable_chunk() = std::move(chunk);
      ok = writer->Write(message);
    }
  }
  writer->WritesDone();
  SCV_RETURN_IF_ERROR(Explain(protocol::FromGrpcStatus(writer->Finish(), "UploadResult")));
  return response;
}

}  // namespace scancov::node
