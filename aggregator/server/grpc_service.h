// gRPC adapters for the aggregator: thin translations between the wire and Federation.
//
// Identity comes only from the verified peer certificate (mutual TLS; see sites/pki/identity.h):
// a call without a TLS peer certificate, or whose certificate names no site/coordinator
// identity, or (when the server has a CRL) whose certificate is revoked, is refused before any
// logic runs. Request fields never name the caller.
#ifndef SCANCOV_AGGREGATOR_GRPC_SERVICE_H_
#define SCANCOV_AGGREGATOR_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "aggregator/server/federation.h"
#include "aggregator/server/stream_limiter.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.grpc.pb.h"

namespace scancov::sites {
class RevocationChecker;
}  // namespace scancov::sites

namespace scancov::aggregator {

// Reads the caller's identity from the TLS auth context of a call. With `revocation`, a peer
// certificate on the CRL is refused: Unauthenticated naming its serial and the reason.
absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContext& context,
                                         sites::RevocationChecker* revocation = nullptr);

class FederationService final : public v1::Federation::Service {
 public:
  // `revocation` (may be null: no CRL) and `limiter` must outlive the service. A transfer with
  // no message for `idle_timeout` is cut (one that moves, however slowly, is not).
  FederationService(Federation* federation, sites::RevocationChecker* revocation,
                    StreamLimiter* limiter, absl::Duration idle_timeout)
      : federation_(federation),
        revocation_(revocation),
        limiter_(limiter),
        idle_timeout_(idle_timeout) {}

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status PullTask(grpc::ServerContext* context, const v1::PullTaskRequest* request,
                        v1::PullTaskResponse* response) override;
  grpc::Status DownloadWeights(grpc::ServerContext* context,
                               const v1::DownloadWeightsRequest* request,
                               grpc::ServerWriter<v1::WeightsMessage>* writer) override;
  grpc::Status ReportDecision(grpc::ServerContext* context, const v1::StudyDecision* request,
                              v1::DecisionAck* response) override;
  grpc::Status UploadResult(grpc::ServerContext* context,
                            grpc::ServerReader<v1::UploadMessage>* reader,
                            v1::UploadResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status SecAgg(grpc::ServerContext* context, const v1::SecAggRequest* request,
                      v1::SecAggResponse* response) override;
  grpc::Status UploadStatus(grpc::ServerContext* context, const v1::UploadStatusRequest* request,
                            v1::UploadStatusResponse* response) override;
  grpc::Status ServerTime(grpc::ServerContext* context, const v1::ServerTimeRequest* request,
                          v1::ServerTimeResponse* response) override;

 private:
  Federation* federation_;
  sites::RevocationChecker* revocation_;
  StreamLimiter* limiter_;
  const absl::Duration idle_timeout_;
};

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  explicit CoordinatorService(Federation* federation,
                              sites::RevocationChecker* revocation = nullptr)
      : federation_(federation), revocation_(revocation) {}

  grpc::Status EnrollSite(grpc::ServerContext* context, const v1::EnrollSiteRequest* request,
                          v1::SiteInfo* response) override;
  grpc::Status ReadAudit(grpc::ServerContext* context, const v1::ReadAuditRequest* request,
                         v1::ReadAuditResponse* response) override;
  grpc::Status SetIdentityEnabled(grpc::ServerContext* context,
                                  const v1::SetIdentityEnabledRequest* request,
                                  v1::IdentityInfo* response) override;
  grpc::Status SetSiteEnabled(grpc::ServerContext* context,
                              const v1::SetSiteEnabledRequest* request,
                              v1::SiteInfo* response) override;
  grpc::Status ListSites(grpc::ServerContext* context, const v1::ListSitesRequest* request,
                         v1::ListSitesResponse* response) override;
  grpc::Status CreateStudy(grpc::ServerContext* context, const v1::CreateStudyRequest* request,
                           v1::StudyStatus* response) override;
  grpc::Status GetStudyStatus(grpc::ServerContext* context,
                              const v1::GetStudyStatusRequest* request,
                              v1::StudyStatus* response) override;
  grpc::Status ListStudies(grpc::ServerContext* context, const v1::ListStudiesRequest* request,
                           v1::ListStudiesResponse* response) override;
  grpc::Status AbortStudy(grpc::ServerContext* context, const v1::AbortStudyRequest* request,
                          v1::StudyStatus* response) override;
  grpc::Status DownloadCheckpoint(grpc::ServerContext* context,
                                  const v1::DownloadCheckpointRequest* request,
                                  grpc::ServerWriter<v1::WeightsMessage>* writer) override;
  grpc::Status UploadModel(grpc::ServerContext* context,
                           grpc::ServerReader<v1::WeightsMessage>* reader,
                           v1::UploadModelResponse* response) override;

 private:
  Federation* federation_;
  sites::RevocationChecker* revocation_;
};

struct AggregatorServerOptions {
  // A CRL signed by the consortium CA (`scancov-pki crl`). When set, every call's client
  // certificate is checked against it (sites/pki/revocation_checker.h: the file is reloaded
  // when it changes, so revoking needs no restart); Start fails on a CRL that is missing,
  // malformed or not signed by the CA of tls.ca_cert.
  std::string crl;
  // Receives the CRL's reports (expired, an unusable replacement); default: spdlog warning.
  std::function<void(const absl::Status&)> on_crl_warning;
  // Weights streams (uploads and downloads) one site may have open at once.
  int streams_per_site = 2;
  // A weights stream with no message for this long is cut (the node resumes it).
  absl::Duration idle_timeout = absl::Seconds(60);
  // Memory gRPC's transport may hold for all connections together (read buffers, flow-control
  // windows, messages in flight), in MiB; 0: unlimited (gRPC's default). Under pressure gRPC
  // reads in smaller pieces and shrinks the windows it announces, so transfers slow down instead
  // of the aggregator growing with the number of sites: without a quota, 100 sites each sending a
  // 30 MB update left ~7 MB per connection held after every round (docs/benchmarks.md).
  int transport_memory_mb = 64;
};

// The aggregator process's server: both services over mutual TLS, plus a timer that closes
// rounds at their deadlines.
class AggregatorServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free port).
  static absl::StatusOr<std::unique_ptr<AggregatorServer>> Start(
      const std::string& address, const protocol::TlsFiles& tls,
      std::unique_ptr<Federation> federation, AggregatorServerOptions options = {});
  ~AggregatorServer();

  int port() const { return port_; }
  Federation* federation() { return federation_.get(); }
  // Tells nodes to stop, then shuts the server down (in-flight calls get `grace` to finish).
  void Shutdown(absl::Duration grace = absl::Seconds(2));
  void Wait();

 private:
  AggregatorServer();
  std::unique_ptr<sites::RevocationChecker> revocation_;  // null without a CRL
  std::unique_ptr<Federation> federation_;
  std::unique_ptr<StreamLimiter> limiter_;
  std::unique_ptr<FederationService> federation_service_;
  std::unique_ptr<CoordinatorService> coordinator_service_;
  std::unique_ptr<grpc::Server> server_;
  std::thread ticker_;
  absl::Notification stop_;
  std::atomic<bool> shut_down_{false};
  int port_ = 0;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_GRPC_SERVICE_H_
