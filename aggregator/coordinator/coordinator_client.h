// CoordinatorClient: the coordinator's side of the Coordinator service, over mutual TLS with
// the coordinator certificate. Used by scancov-coord and by integration tests.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_CLIENT_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.grpc.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

class CoordinatorClient {
 public:
  static absl::StatusOr<std::unique_ptr<CoordinatorClient>> Create(
      const std::string& target, const protocol::TlsFiles& tls,
      const std::string& server_name = "");
  explicit CoordinatorClient(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<v1::SiteInfo> EnrollSite(const std::string& site_id,
                                          const std::string& display_name);
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const std::string& site_id, bool enabled);
  absl::StatusOr<v1::ListSitesResponse> ListSites();
  // With `dry_run`, the aggregator checks the spec and answers what it would create, creating
  // nothing (CreateStudyRequest.dry_run).
  absl::StatusOr<v1::StudyStatus> CreateStudy(const v1::StudySpec& spec, bool dry_run = false);
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id);
  absl::StatusOr<v1::ListStudiesResponse> ListStudies();
  absl::StatusOr<v1::StudyStatus> AbortStudy(const std::string& study_id,
                                             const std::string& reason);
  absl::StatusOr<protocol::TensorSet> DownloadCheckpoint(const std::string& study_id,
                                                         const std::string& checkpoint_id);
  // Streams `weights` (manifest, then 256 KiB chunks) to the aggregator's model store.
  absl::StatusOr<v1::UploadModelResponse> UploadModel(const protocol::TensorSet& weights);
  absl::StatusOr<v1::ReadAuditResponse> ReadAudit(int64_t after_seq, uint32_t limit);
  absl::StatusOr<v1::IdentityInfo> SetIdentityEnabled(const std::string& role,
                                                      const std::string& id, bool enabled,
                                                      const std::string& reason);

 private:
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  absl::Duration timeout_ = absl::Seconds(30);
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_CLIENT_H_
