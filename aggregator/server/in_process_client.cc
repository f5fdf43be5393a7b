#include "aggregator/server/in_process_client.h"

#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

absl::StatusOr<protocol::TensorSet> ThroughCodec(const protocol::TensorSet& set,
                                                 uint32_t chunk_bytes) {
  protocol::WeightsEncoder encoder(set, chunk_bytes);
  protocol::WeightsAssembler assembler;
  SCV_RETURN_IF_ERROR(assembler.Begin(encoder.manifest()));
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) SCV_RETURN_IF_ERROR(assembler.Add(chunk));
  return assembler.Finish();
}

absl::StatusOr<v1::RegisterResponse> InProcessFederationClient::Register(
    const v1::RegisterRequest& request) {
  return federation_->Register(caller_, request);
}

absl::StatusOr<v1::PullTaskResponse> InProcessFederationClient::PullTask() {
  return federation_->PullTask(caller_);
}

absl::StatusOr<protocol::TensorSet> InProcessFederationClient::DownloadWeights(
    const std::string& task_id, const std::string& checkpoint_id) {
  SCV_ASSIGN_OR_RETURN(protocol::TensorSet set,
                       federation_->TaskWeights(caller_, task_id, checkpoint_id));
  return ThroughCodec(set, chunk_bytes_);
}

absl::StatusOr<v1::UploadResponse> InProcessFederationClient::UploadResult(
    const v1::UploadHeader& header, const protocol::TensorSet* weights) {
  std::optional<protocol::TensorSet> received;
  if (weights != nullptr) {
    SCV_ASSIGN_OR_RETURN(received, ThroughCodec(*weights, chunk_bytes_));
  }
  return federation_->SubmitResult(caller_, header, std::move(received));
}

}  // namespace scancov::aggregator
