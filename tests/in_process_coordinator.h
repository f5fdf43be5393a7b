// The coordinator's commands against an in-process federation: a CoordinatorApi that calls a
// Federation as the coordinator, and a clock whose waits let the sites' nodes work, so that
// scancov-coord's longer commands (validate, export-model --choose-cut-points) run whole in a
// test with nothing on the network and no real sleeping.
#ifndef SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_
#define SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "aggregator/coordinator/coordinator_api.h"
#include "tests/test_sites.h"

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
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id) override {
    return federation_->GetStudyStatus(caller_, study_id);
  }
  absl::StatusOr<v1::ListStudiesResponse> ListStudies() override {
    return federation_->ListStudies(caller_);
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

// A node per site (the plain task kinds over the site's clinical store), all on `time`, and a
// Clock for the coordinator whose every wait is one turn of each node before `time` moves on:
// the coordinator polls, the nodes work, as they would concurrently.
class NodesTakeTurns : public Clock {
 public:
  // `federation`, `time` and `sites` must outlive this.
  NodesTakeTurns(aggregator::Federation* federation, FakeClock* time, std::vector<Site>& sites)
      : time_(time) {
    for (Site& s : sites) {
      clients_.push_back(std::make_unique<aggregator::InProcessFederationClient>(
          federation, aggregator::Caller{aggregator::Caller::Role::kSite, s.id}));
      sources_.push_back(std::make_unique<node::ClinicalDatasetSource>(s.db.get()));
      hosts_.push_back(MakeAnalysisHost(sources_.back().get(), s.id));
      node::AgentOptions options;
      options.clock = time;
      agents_.push_back(std::make_unique<node::NodeAgent>(
          clients_.back().get(), &hosts_.back()->gate(), nullptr, options));
    }
  }

  absl::Time Now() override { return time_->Now(); }
  void SleepFor(absl::Duration d) override {
    for (auto& agent : agents_) EXPECT_TRUE(agent->RunOnce().ok());
    time_->Advance(d);
  }

 private:
  FakeClock* time_;
  std::vector<std::unique_ptr<aggregator::InProcessFederationClient>> clients_;
  std::vector<std::unique_ptr<node::ClinicalDatasetSource>> sources_;
  std::vector<std::unique_ptr<node::TaskHost>> hosts_;
  std::vector<std::unique_ptr<node::NodeAgent>> agents_;
};

}  // namespace scancov::testing_sites

#endif  // SCANCOV_TESTS_IN_PROCESS_COORDINATOR_H_
