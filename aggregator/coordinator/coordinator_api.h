// CoordinatorApi: the aggregator's Coordinator service as the coordinator's commands use it
// (coord_commands.h, validate_command.h, export_commands.h), behind a seam: scancov-coord gives
// them the gRPC client (GrpcCoordinatorApi), tests an in-process federation, so a whole
// validation plan runs in a unit test without a network.
//
// Implementations need not be thread-safe; the commands call them from one thread.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_COORDINATOR_API_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_COORDINATOR_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

class CoordinatorClient;

class CoordinatorApi {
 public:
  virtual ~CoordinatorApi() = default;

  virtual absl::StatusOr<v1::SiteInfo> EnrollSite(const std::string& site_id,
                                                  const std::string& display_name) = 0;
  virtual absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const std::string& site_id, bool enabled) = 0;
  virtual absl::StatusOr<v1::ListSitesResponse> ListSites() = 0;
  virtual absl::StatusOr<v1::StudyStatus> CreateStudy(const v1::StudySpec& spec) = 0;
  // Every check CreateStudy runs, and the status it would answer, creating nothing.
  virtual absl::StatusOr<v1::StudyStatus> CreateStudyDryRun(const v1::StudySpec& spec) = 0;
  virtual absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id) = 0;
  virtual absl::StatusOr<v1::ListStudiesResponse> ListStudies() = 0;
  // Ends a running study now, with the coordinator's reason (kept in the audit log).
  virtual absl::StatusOr<v1::StudyStatus> AbortStudy(const std::string& study_id,
                                                     const std::string& reason) = 0;
  // A study's checkpoint by id (the latest when `checkpoint_id` is empty).
  virtual absl::StatusOr<protocol::TensorSet> DownloadCheckpoint(
      const std::string& study_id, const std::string& checkpoint_id) = 0;
  // Stores a model a training study may start from (TrainingPlan.initial_model_sha256).
  virtual absl::StatusOr<v1::UploadModelResponse> UploadModel(
      const protocol::TensorSet& weights) = 0;
};

// The production implementation: forwards to a CoordinatorClient (gRPC, mutual TLS), which
// must outlive it.
class GrpcCoordinatorApi : public CoordinatorApi {
 public:
  explicit GrpcCoordinatorApi(CoordinatorClient* client) : client_(client) {}

  absl::StatusOr<v1::SiteInfo> EnrollSite(const std::string& site_id,
                                          const std::string& display_name) override;
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const std::string& site_id, bool enabled) override;
  absl::StatusOr<v1::ListSitesResponse> ListSites() override;
  absl::StatusOr<v1::StudyStatus> CreateStudy(const v1::StudySpec& spec) override;
  absl::StatusOr<v1::StudyStatus> CreateStudyDryRun(const v1::StudySpec& spec) override;
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id) override;
  absl::StatusOr<v1::ListStudiesResponse> ListStudies() override;
  absl::StatusOr<v1::StudyStatus> AbortStudy(const std::string& study_id,
                                             const std::string& reason) override;
  absl::StatusOr<protocol::TensorSet> DownloadCheckpoint(const std::string& study_id,
                                                         const std::string& checkpoint_id) override;
  absl::StatusOr<v1::UploadModelResponse> UploadModel(const protocol::TensorSet& weights) override;

 private:
  CoordinatorClient* client_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_COORDINATOR_API_H_
