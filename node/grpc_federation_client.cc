#include "node/grpc_federation_client.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "protocol/progress_watchdog.h"
#include "protocol/weights_codec.h"

namespace scancov::node {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

absl::Status Stalled(const std::string& call, absl::Duration idle) {
  return absl::DeadlineExceededError(absl::StrCat(
      call, ": no progress for ", absl::FormatDuration(idle), "; the stream was cut (it resumes)"));
}

bool SameManifest(const v1::WeightsManifest& a, const v1::WeightsManifest& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// Feeds a download stream to an assembler, resuming from a kept prefix when the aggregator
// sends the manifest it belongs to, and starting over when the aggregator sends everything (one
// that does not know start_chunk).
class ResumingReader {
 public:
  // `kept_manifest` null: a fresh download.
  ResumingReader(protocol::WeightsAssembler* assembler, const v1::WeightsManifest* kept_manifest,
                 std::string kept_prefix)
      : assembler_(assembler),
        kept_manifest_(kept_manifest),
        kept_prefix_(std::move(kept_prefix)) {}

  absl::Status Accept(const v1::WeightsMessage& message) {
    if (!begun_) {
      begun_ = true;
      if (!message.has_manifest()) {
        return absl::InvalidArgumentError("weights stream: missing manifest");
      }
      SCV_RETURN_IF_ERROR(assembler_->Begin(message.manifest()));
      if (kept_manifest_ != nullptr && SameManifest(*kept_manifest_, message.manifest())) {
        SCV_RETURN_IF_ERROR(assembler_->Resume(std::move(kept_prefix_)));
      }
      return absl::OkStatus();
    }
    if (!message.has_chunk()) return absl::InvalidArgumentError("weights stream: second manifest");
    const uint32_t index = message.chunk().index();
    if (index == 0 && assembler_->received() > 0) {
      const v1::WeightsManifest manifest = assembler_->manifest();
      *assembler_ = protocol::WeightsAssembler();
      SCV_RETURN_IF_ERROR(assembler_->Begin(manifest));
    } else if (index != 0 && assembler_->received() == 0) {
      return absl::AbortedError(
          "weights stream: the checkpoint changed since the download was cut; starting over");
    }
    return assembler_->Add(message.chunk());
  }

 private:
  protocol::WeightsAssembler* assembler_;
  const v1::WeightsManifest* kept_manifest_;
  std::string kept_prefix_;
  bool begun_ = false;
};

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
  protocol_version_ = response.protocol_version();
  return response;
}

absl::StatusOr<v1::PullTaskResponse> GrpcFederationClient::PullTask() {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  v1::PullTaskRequest request;
  if (protocol_version_ >= v1::PROTOCOL_VERSION_2) {  // long poll: answered when a task opens
    request.set_max_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.long_poll)));
  }
  SetDeadline(&context, options_.unary_timeout + absl::Milliseconds(request.max_wait_ms()));
  v1::PullTaskResponse response;
  SCV_RETURN_IF_ERROR(
      Explain(protocol::FromGrpcStatus(stub->PullTask(&context, request, &response), "PullTask")));
  return response;
}

absl::StatusOr<v1::HeartbeatResponse> GrpcFederationClient::Heartbeat(
    const v1::HeartbeatRequest& request) {
  if (protocol_version_ != v1::PROTOCOL_VERSION_UNSPECIFIED &&
      protocol_version_ < v1::PROTOCOL_VERSION_2) {
    return absl::UnimplementedError("the aggregator speaks protocol 1 (no heartbeat)");
  }
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::HeartbeatResponse response;
  SCV_RETURN_IF_ERROR(Explain(
      protocol::FromGrpcStatus(stub->Heartbeat(&context, request, &response), "Heartbeat")));
  return response;
}

absl::StatusOr<v1::SecAggResponse> GrpcFederationClient::SecAgg(const v1::SecAggRequest& request) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::SecAggResponse response;
  SCV_RETURN_IF_ERROR(
      Explain(protocol::FromGrpcStatus(stub->SecAgg(&context, request, &response), "SecAgg")));
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

absl::StatusOr<v1::ServerTimeResponse> GrpcFederationClient::ServerTime() {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::ServerTimeResponse response;
  SCV_RETURN_IF_ERROR(Explain(protocol::FromGrpcStatus(
      stub->ServerTime(&context, v1::ServerTimeRequest(), &response), "ServerTime")));
  return response;
}

absl::StatusOr<v1::UploadStatusResponse> GrpcFederationClient::UploadStatus(
    const v1::UploadStatusRequest& request) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  grpc::ClientContext context;
  SetDeadline(&context, options_.unary_timeout);
  v1::UploadStatusResponse response;
  SCV_RETURN_IF_ERROR(Explain(
      protocol::FromGrpcStatus(stub->UploadStatus(&context, request, &response), "UploadStatus")));
  return response;
}

absl::StatusOr<protocol::TensorSet> GrpcFederationClient::DownloadWeights(
    const std::string& task_id, const std::string& checkpoint_id) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  std::optional<PartialDownload> partial;
  {
    absl::MutexLock lock(&mu_);
    if (partial_.has_value() && partial_->checkpoint_id == checkpoint_id) {
      partial = std::move(partial_);
    }
    partial_.reset();
  }
  v1::DownloadWeightsRequest request;
  request.set_task_id(task_id);
  request.set_checkpoint_id(checkpoint_id);
  request.set_chunk_bytes(partial ? partial->manifest.chunk_bytes() : options_.chunk_bytes);
  request.set_start_chunk(
      partial ? static_cast<uint32_t>(partial->prefix.size() / partial->manifest.chunk_bytes())
              : 0);
  grpc::ClientContext context;
  protocol::ProgressWatchdog watchdog(options_.idle_timeout, [&] { context.TryCancel(); });
  std::unique_ptr<grpc::ClientReader<v1::WeightsMessage>> reader =
      stub->DownloadWeights(&context, request);
  protocol::WeightsAssembler assembler;
  ResumingReader resuming(&assembler, partial ? &partial->manifest : nullptr,
                          partial ? std::move(partial->prefix) : std::string());
  v1::WeightsMessage message;
  absl::Status failure;
  while (reader->Read(&message)) {
    watchdog.Progress();
    if (failure.ok()) failure = resuming.Accept(message);  // after a failure: drain, keep it
  }
  absl::Status status = protocol::FromGrpcStatus(reader->Finish(), "DownloadWeights");
  if (status.ok()) status = failure;
  if (status.ok()) return assembler.Finish();  // a whole-set mismatch keeps nothing
  if (watchdog.fired()) status = Stalled("DownloadWeights", options_.idle_timeout);
  if (assembler.received() > 0) {
    PartialDownload keep{checkpoint_id, assembler.manifest(), ""};
    keep.prefix = assembler.TakePayloadPrefix();
    absl::MutexLock lock(&mu_);
    partial_ = std::move(keep);
  }
  return Explain(status);
}

absl::StatusOr<std::optional<uint32_t>> GrpcFederationClient::ResumePoint(
    const std::string& task_id, const v1::WeightsManifest& manifest) {
  v1::UploadStatusRequest request;
  request.set_task_id(task_id);
  request.set_weights_sha256(ToHex(manifest.sha256()));
  request.set_chunk_bytes(manifest.chunk_bytes());
  absl::StatusOr<v1::UploadStatusResponse> held = UploadStatus(request);
  if (!held.ok()) {
    // An aggregator without resumable uploads, or holding nothing of this one: send it all.
    const absl::StatusCode code = held.status().code();
    if (code == absl::StatusCode::kUnimplemented || code == absl::StatusCode::kNotFound) {
      return std::optional<uint32_t>(0);
    }
    return held.status();
  }
  if (held->accepted()) return std::optional<uint32_t>();
  return std::optional<uint32_t>(std::min(held->verified_chunks(), manifest.num_chunks()));
}

UploadFollower::Ask GrpcFederationClient::FollowUpload(std::shared_ptr<v1::Federation::Stub> stub,
                                                       const std::string& task_id,
                                                       const v1::WeightsManifest& manifest) {
  v1::UploadStatusRequest request;
  request.set_task_id(task_id);
  request.set_weights_sha256(ToHex(manifest.sha256()));
  request.set_chunk_bytes(manifest.chunk_bytes());
  return [this, stub = std::move(stub), request = std::move(request)](
             grpc::ClientContext* context) -> absl::StatusOr<v1::UploadStatusResponse> {
    SetDeadline(context, options_.unary_timeout);
    v1::UploadStatusResponse response;
    SCV_RETURN_IF_ERROR(
        protocol::FromGrpcStatus(stub->UploadStatus(context, request, &response), "UploadStatus"));
    return response;
  };
}

absl::StatusOr<v1::UploadResponse> GrpcFederationClient::UploadResult(
    const v1::UploadHeader& header, const protocol::TensorSet* weights) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<v1::Federation::Stub> stub, Stub());
  v1::UploadMessage message;
  *message.mutable_header() = header;
  message.mutable_header()->set_has_weights(weights != nullptr);
  std::optional<protocol::WeightsEncoder> encoder;
  if (weights != nullptr) {
    encoder.emplace(*weights, options_.chunk_bytes);
    message.mutable_header()->set_weights_sha256(ToHex(encoder->manifest().sha256()));
    SCV_ASSIGN_OR_RETURN(std::optional<uint32_t> start,
                         ResumePoint(header.task_id(), encoder->manifest()));
    if (!start.has_value()) {
      v1::UploadResponse already;
      already.set_accepted(true);
      already.set_duplicate(true);
      already.set_message("the aggregator already holds this result");
      return already;
    }
    encoder->SkipTo(*start);
  }
  grpc::ClientContext context;
  std::atomic<bool> cut{false};  // by the watchdog or the follower
  auto on_stall = [&] {
    cut = true;
    context.TryCancel();
  };
  std::optional<protocol::ProgressWatchdog> watchdog;
  watchdog.emplace(options_.idle_timeout, on_stall);
  v1::UploadResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::UploadMessage>> writer =
      stub->UploadResult(&context, &response);
  bool ok = writer->Write(message);
  if (ok && encoder.has_value()) {
    watchdog->Progress();
    message.Clear();
    *message.mutable_manifest() = encoder->manifest();
    ok = writer->Write(message);
    v1::WeightsChunk chunk;
    while (ok && encoder->Next(&chunk)) {
      watchdog->Progress();
      message.Clear();
      *message.mutable_chunk() = std::move(chunk);
      ok = writer->Write(message);
    }
  }
  watchdog->Progress();
  writer->WritesDone();
  std::optional<UploadFollower> follower;
  if (ok && encoder.has_value() && !cut) {
    // Everything is written: from here the call is cut only when the aggregator stops moving on
    // it (upload_follower.h), not for the time its drain, verification and aggregation take.
    watchdog.reset();
    follower.emplace(options_.idle_timeout, encoder->manifest().num_chunks(),
                     FollowUpload(stub, header.task_id(), encoder->manifest()), on_stall);
  }
  const grpc::Status status = writer->Finish();
  follower.reset();
  watchdog.reset();
  if (cut) return Stalled("UploadResult", options_.idle_timeout);
  SCV_RETURN_IF_ERROR(Explain(protocol::FromGrpcStatus(status, "UploadResult")));
  return response;
}

}  // namespace scancov::node
