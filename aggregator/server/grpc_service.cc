#include "aggregator/server/grpc_service.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/auth_context.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "core/status_macros.h"
#include "protocol/progress_watchdog.h"
#include "protocol/weights_codec.h"
#include "sites/pki/identity.h"
#include "sites/pki/revocation_checker.h"

namespace scancov::aggregator {
namespace {

using protocol::ToGrpcStatus;

// Resolves the caller or returns the refusal to send back.
#define SCV_CALLER_OR_RETURN(var, context)                                      \
  absl::StatusOr<Caller> var##_or = CallerFromContext(*(context), revocation_); \
  if (!var##_or.ok()) return ToGrpcStatus(var##_or.status());                   \
  const Caller& var = *var##_or

template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status StreamWeights(const protocol::TensorSet& set, uint32_t chunk_bytes,
                           grpc::ServerWriter<v1::WeightsMessage>* writer) {
  protocol::WeightsEncoder encoder(set, chunk_bytes);
  v1::WeightsMessage message;
  *message.mutable_manifest() = encoder.manifest();
  if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) {
    message.Clear();
    *message.mutable_chunk() = std::move(chunk);
    if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
  }
  return grpc::Status::OK;
}

}  // namespace

absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContext& context,
                                         sites::RevocationChecker* revocation) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty()) return absl::UnauthenticatedError("no client certificate in the TLS session");
  const absl::string_view certificate(pem[0].data(), pem[0].size());
  absl::StatusOr<sites::PeerIdentity> identity = sites::IdentityFromCertificatePem(certificate);
  if (!identity.ok()) return Annotate(identity.status(), "client certificate");
  if (revocation != nullptr) {
    // On every call, not once per connection: a revocation takes effect on open connections.
    const absl::Status revoked = revocation->Check(certificate);
    if (!revoked.ok()) {
      spdlog::warn("refused {}: {}", sites::ToString(*identity), std::string(revoked.message()));
      return absl::UnauthenticatedError(absl::StrCat("client certificate: ", revoked.message()));
    }
  }
  switch (identity->role) {
    case sites::Role::kSite:
      return Caller{Caller::Role::kSite, identity->id, std::string(certificate)};
    case sites::Role::kCoordinator:
      return Caller{Caller::Role::kCoordinator, identity->id};
    case sites::Role::kAggregator:
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("'", identity->id, "' holds an aggregator certificate, not a client one"));
}

grpc::Status FederationService::Register(grpc::ServerContext* context,
                                         const v1::RegisterRequest* request,
                                         v1::RegisterResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->Register(caller, *request), response);
}

grpc::Status FederationService::PullTask(grpc::ServerContext* context,
                                         const v1::PullTaskRequest* request,
                                         v1::PullTaskResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->PullTask(caller, *request), response);
}

grpc::Status FederationService::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->Heartbeat(caller, *request), response);
}

grpc::Status FederationService::SecAgg(grpc::ServerContext* context,
                                       const v1::SecAggRequest* request,
                                       v1::SecAggResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->SecAgg(caller, *request), response);
}

grpc::Status FederationService::DownloadWeights(grpc::ServerContext* context,
                                                const v1::DownloadWeightsRequest* request,
                                                grpc::ServerWriter<v1::WeightsMessage>* writer) {
  SCV_CALLER_OR_RETURN(caller, context);
  absl::StatusOr<std::shared_ptr<const EncodedCheckpoint>> checkpoint =
      federation_->TaskCheckpoint(caller, request->task_id(), request->checkpoint_id());
  if (!checkpoint.ok()) return ToGrpcStatus(checkpoint.status());
  absl::StatusOr<StreamLimiter::Ticket> ticket = limiter_->Acquire(caller.id);
  if (!ticket.ok()) return ToGrpcStatus(ticket.status());
  // Shared by every site's download: the aggregator holds the round's model once. The board
  // shows the coordinator how far the stream is.
  std::unique_ptr<DownloadBoard::Tracker> tracker =
      federation_->downloads()->Begin(caller.id, request->task_id());
  return ToGrpcStatus(StreamCheckpoint(**checkpoint, request->chunk_bytes(), request->start_chunk(),
                                       [&](const v1::WeightsMessage& m) {
                                         if (!writer->Write(m)) return false;
                                         tracker->Sent(m);
                                         return true;
                                       }));
}

grpc::Status FederationService::UploadStatus(grpc::ServerContext* context,
                                             const v1::UploadStatusRequest* request,
                                             v1::UploadStatusResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->UploadStatus(caller, *request), response);
}

grpc::Status FederationService::ServerTime(grpc::ServerContext* context,
                                           const v1::ServerTimeRequest* request,
                                           v1::ServerTimeResponse* response) {
  (void)request;  // empty
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->ServerTime(caller), response);
}

grpc::Status FederationService::UploadResult(grpc::ServerContext* context,
                                             grpc::ServerReader<v1::UploadMessage>* reader,
                                             v1::UploadResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  v1::UploadMessage message;
  if (!reader->Read(&message) || !message.has_header()) {
    return ToGrpcStatus(absl::InvalidArgumentError("upload: the first message must be a header"));
  }
  const v1::UploadHeader header = message.header();
  // Authorised from the header alone (identity, enrolment, the caller's open task): nothing of
  // the weights is read before. AuthorizeUpload audits its refusals.
  absl::StatusOr<UploadPlan> plan = federation_->AuthorizeUpload(caller, header);
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  if (plan->answer) {  // the same result again: answered without reading it
    *response = *plan->answer;
    return grpc::Status::OK;
  }
  if (!header.has_weights()) {
    return Reply(federation_->SubmitSpooled(caller, header, std::nullopt), response);
  }
  auto refuse = [&](const absl::Status& why) {
    const absl::Status refused = Annotate(why, absl::StrCat("task '", header.task_id(), "'"));
    federation_->RecordRefusal(caller, "upload", refused);
    return ToGrpcStatus(refused);
  };
  UploadSpool* spool = federation_->spool();
  if (spool == nullptr) return refuse(absl::FailedPreconditionError("no upload spool"));
  absl::StatusOr<StreamLimiter::Ticket> ticket = limiter_->Acquire(caller.id);
  if (!ticket.ok()) return ToGrpcStatus(ticket.status());
  // A stream that stops moving is cut; one that moves, however slowly, is not. Only while it is
  // read: the verification and the submission that follow are the aggregator's own work, which
  // the node follows through UploadStatus (node/upload_follower.h).
  std::optional<protocol::ProgressWatchdog> watchdog;
  watchdog.emplace(idle_timeout_, [context] { context->TryCancel(); });
  if (!reader->Read(&message) || !message.has_manifest()) {
    return refuse(
        absl::InvalidArgumentError("upload: expected a weights manifest after the header"));
  }
  watchdog->Progress();
  const uint32_t chunks = message.manifest().num_chunks();
  const std::string sha = ToHex(message.manifest().sha256());
  if (!header.weights_sha256().empty() && header.weights_sha256() != sha) {
    return refuse(absl::InvalidArgumentError(absl::StrCat(
        "upload: the header announces weights ", header.weights_sha256(), ", the manifest ", sha)));
  }
  absl::StatusOr<std::unique_ptr<UploadSession>> session =
      spool->Begin({caller.id, header.task_id(), sha}, message.manifest(),
                   plan->expected_layout ? &*plan->expected_layout : nullptr);
  if (!session.ok()) return refuse(session.status());
  while (reader->Read(&message)) {
    watchdog->Progress();
    if (!message.has_chunk()) {
      return refuse(
          absl::InvalidArgumentError("upload: unexpected message inside the weights stream"));
    }
    const absl::Status added = (*session)->Add(message.chunk());
    if (!added.ok()) return refuse(added);
    federation_->work()->Add(message.chunk().data().size());
  }
  const bool stalled = watchdog->fired();
  watchdog.reset();
  if (stalled) {
    return ToGrpcStatus(absl::DeadlineExceededError(absl::StrCat(
        "upload of task '", header.task_id(), "': no progress for ",
        absl::FormatDuration(idle_timeout_), "; resume from chunk ", (*session)->next_chunk())));
  }
  if ((*session)->next_chunk() < chunks) {
    // Cut short (a dropped link): what arrived is kept, the node resumes from here.
    return ToGrpcStatus(absl::UnavailableError(
        absl::StrCat("upload of task '", header.task_id(), "' ended after ",
                     (*session)->next_chunk(), " of ", chunks, " chunks; resume from there")));
  }
  absl::StatusOr<SpooledWeights> spooled = (*session)->Finish();
  if (!spooled.ok()) return refuse(spooled.status());
  session->reset();
  return Reply(federation_->SubmitSpooled(caller, header, std::move(*spooled)), response);
}

grpc::Status FederationService::ReportDecision(grpc::ServerContext* context,
                                               const v1::StudyDecision* request,
                                               v1::DecisionAck* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->ReportDecision(caller, *request), response);
}

grpc::Status CoordinatorService::ReadAudit(grpc::ServerContext* context,
                                           const v1::ReadAuditRequest* request,
                                           v1::ReadAuditResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->ReadAudit(caller, *request), response);
}

grpc::Status CoordinatorService::SetIdentityEnabled(grpc::ServerContext* context,
                                                    const v1::SetIdentityEnabledRequest* request,
                                                    v1::IdentityInfo* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->SetIdentityEnabled(caller, *request), response);
}

grpc::Status CoordinatorService::EnrollSite(grpc::ServerContext* context,
                                            const v1::EnrollSiteRequest* request,
                                            v1::SiteInfo* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->EnrollSite(caller, *request), response);
}

grpc::Status CoordinatorService::SetSiteEnabled(grpc::ServerContext* context,
                                                const v1::SetSiteEnabledRequest* request,
                                                v1::SiteInfo* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->SetSiteEnabled(caller, *request), response);
}

grpc::Status CoordinatorService::ListSites(grpc::ServerContext* context,
                                           const v1::ListSitesRequest* request,
                                           v1::ListSitesResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->ListSites(caller), response);
}

grpc::Status CoordinatorService::CreateStudy(grpc::ServerContext* context,
                                             const v1::CreateStudyRequest* request,
                                             v1::StudyStatus* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->CreateStudy(caller, *request), response);
}

grpc::Status CoordinatorService::GetStudyStatus(grpc::ServerContext* context,
                                                const v1::GetStudyStatusRequest* request,
                                                v1::StudyStatus* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->GetStudyStatus(caller, request->study_id()), response);
}

grpc::Status CoordinatorService::ListStudies(grpc::ServerContext* context,
                                             const v1::ListStudiesRequest* request,
                                             v1::ListStudiesResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->ListStudies(caller), response);
}

grpc::Status CoordinatorService::AbortStudy(grpc::ServerContext* context,
                                            const v1::AbortStudyRequest* request,
                                            v1::StudyStatus* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  return Reply(federation_->AbortStudy(caller, *request), response);
}

grpc::Status CoordinatorService::DownloadCheckpoint(
    grpc::ServerContext* context, const v1::DownloadCheckpointRequest* request,
    grpc::ServerWriter<v1::WeightsMessage>* writer) {
  SCV_CALLER_OR_RETURN(caller, context);
  absl::StatusOr<protocol::TensorSet> set =
      federation_->GetCheckpoint(caller, request->study_id(), request->checkpoint_id());
  if (!set.ok()) return ToGrpcStatus(set.status());
  return StreamWeights(*set, request->chunk_bytes(), writer);
}

grpc::Status CoordinatorService::UploadModel(grpc::ServerContext* context,
                                             grpc::ServerReader<v1::WeightsMessage>* reader,
                                             v1::UploadModelResponse* response) {
  SCV_CALLER_OR_RETURN(caller, context);
  // Who calls is checked before one byte of the stream is read.
  if (absl::Status s = federation_->AuthorizeCoordinator(caller); !s.ok()) return ToGrpcStatus(s);
  protocol::WeightsAssembler assembler{protocol::ManifestLimits{}};
  v1::WeightsMessage message;
  bool any = false;
  while (reader->Read(&message)) {
    any = true;
    absl::Status s = assembler.Feed(message);
    if (!s.ok()) return ToGrpcStatus(Annotate(s, "uploaded model"));  // ends the call
  }
  if (!any) return ToGrpcStatus(absl::InvalidArgumentError("uploaded model: empty stream"));
  absl::StatusOr<protocol::TensorSet> set = assembler.Finish();
  if (!set.ok()) return ToGrpcStatus(Annotate(set.status(), "uploaded model"));
  return Reply(federation_->UploadModel(caller, *set), response);
}

absl::StatusOr<std::unique_ptr<AggregatorServer>> AggregatorServer::Start(
    const std::string& address, const protocol::TlsFiles& tls,
    std::unique_ptr<Federation> federation, AggregatorServerOptions options) {
  SCV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                       protocol::MakeMtlsServerCredentials(tls));
  std::unique_ptr<sites::RevocationChecker> revocation_checker;
  if (!options.crl.empty()) {
    SCV_ASSIGN_OR_RETURN(std::string ca_pem, ReadFileToString(tls.ca_cert));
    sites::RevocationCheckerOptions crl_options;
    crl_options.warn = std::move(options.on_crl_warning);
    absl::StatusOr<std::unique_ptr<sites::RevocationChecker>> checker =
        sites::RevocationChecker::Open(std::move(ca_pem), options.crl, std::move(crl_options));
    if (!checker.ok()) return Annotate(checker.status(), "aggregator: CRL");
    revocation_checker = std::move(*checker);
  }
  std::unique_ptr<AggregatorServer> server(new AggregatorServer());
  server->revocation_ = std::move(revocation_checker);
  sites::RevocationChecker* revocation = server->revocation_.get();
  server->federation_ = std::move(federation);
  server->limiter_ = std::make_unique<StreamLimiter>(options.streams_per_site);
  server->federation_service_ = std::make_unique<FederationService>(
      server->federation_.get(), revocation, server->limiter_.get(), options.idle_timeout);
  server->coordinator_service_ =
      std::make_unique<CoordinatorService>(server->federation_.get(), revocation);
  grpc::ServerBuilder builder;
  if (options.transport_memory_mb > 0) {
    grpc::ResourceQuota quota("scancov-aggregator transport");
    quota.Resize(static_cast<size_t>(options.transport_memory_mb) << 20);
    builder.SetResourceQuota(quota);
  }
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.RegisterService(server->federation_service_.get());
  builder.RegisterService(server->coordinator_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("aggregator: cannot listen on ", address));
  }
  AggregatorServer* raw = server.get();
  server->ticker_ = std::thread([raw] {
    while (!raw->stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      absl::Status s = raw->federation_->Tick();
      if (!s.ok()) spdlog::error("deadline check failed: {}", std::string(s.message()));
    }
  });
  return server;
}

void AggregatorServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  federation_->Drain();
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (ticker_.joinable()) ticker_.join();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
}

void AggregatorServer::Wait() { server_->Wait(); }

AggregatorServer::AggregatorServer() = default;

AggregatorServer::~AggregatorServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace scancov::aggregator
