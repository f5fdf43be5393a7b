#include "aggregator/coordinator/coordinator_client.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {
namespace {

template <typename Response, typename Call>
absl::StatusOr<Response> Unary(absl::Duration timeout, const char* what, Call&& call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  Response response;
  SCV_RETURN_IF_ERROR(protocol::FromGrpcStatus(call(&context, &response), what));
  return response;
}

}  // namespace

// A study's status carries every round's combined statistics (an external validation's ROC
// counts, a selection's path): more than gRPC's default 4 MB for long studies.
constexpr int kMaxStatusBytes = 256 << 20;

absl::StatusOr<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Create(
    const std::string& target, const protocol::TlsFiles& tls, const std::string& server_name) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                       protocol::MakeMtlsChannel(target, tls, server_name, kMaxStatusBytes));
  return std::make_unique<CoordinatorClient>(std::move(channel));
}

CoordinatorClient::CoordinatorClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::Coordinator::NewStub(std::move(channel))) {}

absl::StatusOr<v1::SiteInfo> CoordinatorClient::EnrollSite(const std::string& site_id,
                                                           const std::string& display_name) {
  v1::EnrollSiteRequest request;
  request.set_site_id(site_id);
  request.set_display_name(display_name);
  return Unary<v1::SiteInfo>(timeout_, "EnrollSite",
                             [&](auto* c, auto* r) { return stub_->EnrollSite(c, request, r); });
}

absl::StatusOr<v1::SiteInfo> CoordinatorClient::SetSiteEnabled(const std::string& site_id,
                                                               bool enabled) {
  v1::SetSiteEnabledRequest request;
  request.set_site_id(site_id);
  request.set_enabled(enabled);
  return Unary<v1::SiteInfo>(timeout_, "SetSiteEnabled", [&](auto* c, auto* r) {
    return stub_->SetSiteEnabled(c, request, r);
  });
}

absl::StatusOr<v1::ListSitesResponse> CoordinatorClient::ListSites() {
  return Unary<v1::ListSitesResponse>(timeout_, "ListSites", [&](auto* c, auto* r) {
    return stub_->ListSites(c, v1::ListSitesRequest(), r);
  });
}

absl::StatusOr<v1::StudyStatus> CoordinatorClient::CreateStudy(const v1::StudySpec& spec,
                                                               bool dry_run) {
  v1::CreateStudyRequest request;
  *request.mutable_spec() = spec;
  request.set_dry_run(dry_run);
  return Unary<v1::StudyStatus>(
      timeout_, "CreateStudy", [&](auto* c, auto* r) { return stub_->CreateStudy(c, request, r); });
}

absl::StatusOr<v1::StudyStatus> CoordinatorClient::GetStudyStatus(const std::string& study_id) {
  v1::GetStudyStatusRequest request;
  request.set_study_id(study_id);
  return Unary<v1::StudyStatus>(timeout_, "GetStudyStatus", [&](auto* c, auto* r) {
    return stub_->GetStudyStatus(c, request, r);
  });
}

absl::StatusOr<v1::ListStudiesResponse> CoordinatorClient::ListStudies() {
  return Unary<v1::ListStudiesResponse>(timeout_, "ListStudies", [&](auto* c, auto* r) {
    return stub_->ListStudies(c, v1::ListStudiesRequest(), r);
  });
}

absl::StatusOr<v1::StudyStatus> CoordinatorClient::AbortStudy(const std::string& study_id,
                                                              const std::string& reason) {
  v1::AbortStudyRequest request;
  request.set_study_id(study_id);
  request.set_reason(reason);
  return Unary<v1::StudyStatus>(timeout_, "AbortStudy",
                                [&](auto* c, auto* r) { return stub_->AbortStudy(c, request, r); });
}

absl::StatusOr<protocol::TensorSet> CoordinatorClient::DownloadCheckpoint(
    const std::string& study_id, const std::string& checkpoint_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  v1::DownloadCheckpointRequest request;
  request.set_study_id(study_id);
  request.set_checkpoint_id(checkpoint_id);
  auto reader = stub_->DownloadCheckpoint(&context, request);
  return protocol::ReadWeightsStream(reader.get());
}

absl::StatusOr<v1::UploadModelResponse> CoordinatorClient::UploadModel(
    const protocol::TensorSet& weights) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  v1::UploadModelResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::WeightsMessage>> writer =
      stub_->UploadModel(&context, &response);
  protocol::WeightsEncoder encoder(weights, protocol::kDefaultChunkBytes);
  v1::WeightsMessage message;
  *message.mutable_manifest() = encoder.manifest();
  // A failed write means the aggregator ended the call: Finish says why.
  bool open = writer->Write(message);
  while (open) {
    message.Clear();
    if (!encoder.Next(message.mutable_chunk())) break;
    open = writer->Write(message);
  }
  if (open) writer->WritesDone();
  SCV_RETURN_IF_ERROR(protocol::FromGrpcStatus(writer->Finish(), "UploadModel"));
  return response;
}

absl::StatusOr<v1::ReadAuditResponse> CoordinatorClient::ReadAudit(int64_t after_seq,
                                                                   uint32_t limit) {
  v1::ReadAuditRequest request;
  request.set_after_seq(after_seq);
  request.set_limit(limit);
  return Unary<v1::ReadAuditResponse>(
      timeout_, "ReadAudit", [&](auto* c, auto* r) { return stub_->ReadAudit(c, request, r); });
}

absl::StatusOr<v1::IdentityInfo> CoordinatorClient::SetIdentityEnabled(const std::string& role,
                                                                       const std::string& id,
                                                                       bool enabled,
                                                                       const std::string& reason) {
  v1::SetIdentityEnabledRequest request;
  request.set_role(role);
  request.set_id(id);
  request.set_enabled(enabled);
  request.set_reason(reason);
  return Unary<v1::IdentityInfo>(timeout_, "SetIdentityEnabled", [&](auto* c, auto* r) {
    return stub_->SetIdentityEnabled(c, request, r);
  });
}

}  // namespace scancov::aggregator
