// InProcessCoordinatorApi: the coordinator's commands' CoordinatorApi over a Federation in the
// same process, called as the coordinator "alice": no network, no node (tests/
// in_process_coordinator.h adds nodes that take turns).
#ifndef SCANCOV_TESTS_IN_PROCESS_COORDINATOR_API_H_
#define SCANCOV_TESTS_IN_PROCESS_COORDINATOR_API_H_

#include <string>

#include "aggregator/coordinator/coordinator_api.h"
#include "aggregator/server/federation.h"

namespace scancov::testing_sites {

class InProcessCoordinatorApi : public aggregator::CoordinatorApi {
 public:
  // `federation` must outlive the API.
  explicit InProcessCoordinatorApi(aggregator::Federation* federation) : federation_(federation) {}

  absl::StatusOr<v1::SiteInfo> EnrollSite(const std::string& site_id,
                                          const std::string& display_name) override {
    v1::EnrollSiteRequest req;
    req.set_site_id(site_id);
    req.set_display_name(display_name);
    return federation_->EnrollSite(caller_, req);
  }
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const std::string& site_id, bool enabled) override {
    v1::SetSiteEnabledRequest req;
    req.set_site_id(site_id);
    req.set_enabled(enabled);
    return federation_->SetSiteEnabled(caller_, req);
  }
  absl::StatusOr<v1::ListSitesResponse> ListSites() override {
    return federation_->ListSites(caller_);
  }
  absl::StatusOr<v1::StudyStatus> CreateStudy(const v1::StudySpec& spec) override {
    v1::CreateStudyRequest req;
    *req.mutable_spec() = spec;
    return federation_->CreateStudy(caller_, req);
  }
  absl::StatusOr<v1::StudyStatus> CreateStudyDryRun(const v1::StudySpec& spec) override {
    v1::CreateStudyRequest req;
    *req.mutable_spec() = spec;
    req.set_dry_run(true);
    return federation_->CreateStudy(caller_, req);
  }
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id) override {
    return federation_->GetStudyStatus(caller_, study_id);
  }
  absl::StatusOr<v1::ListStudiesResponse> ListStudies() override {
    return federation_->ListStudies(caller_);
  }
  absl::StatusOr<v1::StudyStatus> AbortStudy(const std::string& study_id,
                                             const std::string& reason) override {
    v1::AbortStudyRequest req;
    req.set_study_id(study_id);
    req.set_reason(reason);
    return federation_->AbortStudy(caller_, req);
  }
  absl::StatusOr<protocol::TensorSet> DownloadCheckpoint(
      const std::string& study_id, const std::string& checkpoint_id) override {
    return federation_->GetCheckpoint(caller_, study_id, checkpoint_id);
  }
  absl::StatusOr<v1::UploadModelResponse> UploadModel(const protocol::TensorSet& weights) override {
    return federation_->UploadModel(caller_, weights);
  }

 private:
  aggregator::Federation* federation_;
  const aggregator::Caller caller_{aggregator::Caller::Role::kCoordinator, "alice"};
};

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_IN_PROCESS_COORDINATOR_API_H_
