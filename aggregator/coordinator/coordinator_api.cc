#include "aggregator/coordinator/coordinator_api.h"

#include "aggregator/coordinator/coordinator_client.h"

namespace scancov::aggregator {

absl::StatusOr<v1::SiteInfo> GrpcCoordinatorApi::EnrollSite(const std::string& site_id,
                                                            const std::string& display_name) {
  return client_->EnrollSite(site_id, display_name);
}

absl::StatusOr<v1::SiteInfo> GrpcCoordinatorApi::SetSiteEnabled(const std::string& site_id,
                                                                bool enabled) {
  return client_->SetSiteEnabled(site_id, enabled);
}

absl::StatusOr<v1::ListSitesResponse> GrpcCoordinatorApi::ListSites() {
  return client_->ListSites();
}

absl::StatusOr<v1::StudyStatus> GrpcCoordinatorApi::CreateStudy(const v1::StudySpec& spec) {
  return client_->CreateStudy(spec);
}

absl::StatusOr<v1::StudyStatus> GrpcCoordinatorApi::CreateStudyDryRun(const v1::StudySpec& spec) {
  return client_->CreateStudy(spec, /*dry_run=*/true);
}

absl::StatusOr<v1::StudyStatus> GrpcCoordinatorApi::GetStudyStatus(const std::string& study_id) {
  return client_->GetStudyStatus(study_id);
}

absl::StatusOr<v1::ListStudiesResponse> GrpcCoordinatorApi::ListStudies() {
  return client_->ListStudies();
}

absl::StatusOr<v1::StudyStatus> GrpcCoordinatorApi::AbortStudy(const std::string& study_id,
                                                               const std::string& reason) {
  return client_->AbortStudy(study_id, reason);
}

absl::StatusOr<v1::UploadModelResponse> GrpcCoordinatorApi::UploadModel(
    const protocol::TensorSet& weights) {
  return client_->UploadModel(weights);
}

absl::StatusOr<protocol::TensorSet> GrpcCoordinatorApi::DownloadCheckpoint(
    const std::string& study_id, const std::string& checkpoint_id) {
  return client_->DownloadCheckpoint(study_id, checkpoint_id);
}

}  // namespace scancov::aggregator
