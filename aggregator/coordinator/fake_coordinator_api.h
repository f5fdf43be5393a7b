// FakeCoordinatorApi: an in-memory CoordinatorApi for the commands' unit tests. Studies are
// canned statuses that report RUNNING for a set number of polls before their final status, so
// the waiting loops run against a FakeClock without a federation; created studies are recorded
// and answered by `on_create`; dry runs are recorded and create nothing. Test-only; not
// thread-safe.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_FAKE_COORDINATOR_API_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_FAKE_COORDINATOR_API_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "protocol/weights_codec.h"

namespace scancov::aggregator {

class FakeCoordinatorApi : public CoordinatorApi {
 public:
  // `final_status` (keyed by its study_id) after `running_polls` polls answered RUNNING.
  void AddStudy(const v1::StudyStatus& final_status, int running_polls = 0) {
    studies_[final_status.study_id()] = {final_status, running_polls};
  }
  // The final status a created study gets (default: DONE, no rounds, after one RUNNING poll).
  std::function<v1::StudyStatus(const v1::StudySpec&)> on_create = [](const v1::StudySpec& s) {
    v1::StudyStatus st;
    st.set_study_id(s.name());
    *st.mutable_spec() = s;
    st.set_state(v1::STUDY_STATE_DONE);
    return st;
  };

  std::vector<v1::StudySpec> created;
  std::vector<v1::StudySpec> dry_runs;  // CreateStudyDryRun's specs
  std::vector<v1::SiteInfo> sites;
  std::map<std::string, protocol::TensorSet> checkpoints;  // by "<study>/<checkpoint id>"
  std::map<std::string, protocol::TensorSet> uploaded;     // UploadModel's, by digest
  int polls = 0;

  absl::StatusOr<v1::SiteInfo> EnrollSite(const std::string& site_id,
                                          const std::string& display_name) override {
    v1::SiteInfo info;
    info.set_site_id(site_id);
    info.set_display_name(display_name);
    info.set_enabled(true);
    sites.push_back(info);
    return info;
  }
  absl::StatusOr<v1::SiteInfo> SetSiteEnabled(const std::string& site_id, bool enabled) override {
    for (v1::SiteInfo& s : sites) {
      if (s.site_id() != site_id) continue;
      s.set_enabled(enabled);
      return s;
    }
    return absl::NotFoundError(absl::StrCat("site '", site_id, "' is not enrolled"));
  }
  absl::StatusOr<v1::ListSitesResponse> ListSites() override {
    v1::ListSitesResponse list;
    for (const v1::SiteInfo& s : sites) *list.add_sites() = s;
    return list;
  }
  absl::StatusOr<v1::StudyStatus> CreateStudy(const v1::StudySpec& spec) override {
    if (studies_.count(spec.name())) {
      return absl::AlreadyExistsError(absl::StrCat("study '", spec.name(), "' exists"));
    }
    created.push_back(spec);
    AddStudy(on_create(spec), 1);
    return Running(studies_.at(spec.name()).final_status);
  }
  // Checks nothing (the aggregator's checks run in tests/create_study_dry_run_test.cc): records
  // the spec and answers it back.
  absl::StatusOr<v1::StudyStatus> CreateStudyDryRun(const v1::StudySpec& spec) override {
    dry_runs.push_back(spec);
    v1::StudyStatus st;
    st.set_study_id(spec.name());
    *st.mutable_spec() = spec;
    st.set_message("dry run: nothing was created");
    return st;
  }
  absl::StatusOr<v1::StudyStatus> GetStudyStatus(const std::string& study_id) override {
    ++polls;
    auto it = studies_.find(study_id);
    if (it == studies_.end()) {
      return absl::NotFoundError(absl::StrCat("study '", study_id, "' not found"));
    }
    if (it->second.running_polls > 0) {
      --it->second.running_polls;
      return Running(it->second.final_status);
    }
    return it->second.final_status;
  }
  absl::StatusOr<v1::ListStudiesResponse> ListStudies() override {
    v1::ListStudiesResponse list;
    for (const auto& [id, study] : studies_) *list.add_studies() = study.final_status;
    return list;
  }
  // As the aggregator: a study still running (polls left) ends FAILED with the reason.
  absl::StatusOr<v1::StudyStatus> AbortStudy(const std::string& study_id,
                                             const std::string& reason) override {
    auto it = studies_.find(study_id);
    if (it == studies_.end()) {
      return absl::NotFoundError(absl::StrCat("study '", study_id, "' not found"));
    }
    if (it->second.running_polls == 0) {
      return absl::FailedPreconditionError(absl::StrCat("study '", study_id, "' already ended"));
    }
    it->second.running_polls = 0;
    it->second.final_status.set_state(v1::STUDY_STATE_FAILED);
    it->second.final_status.set_message(absl::StrCat("aborted by coordinator: ", reason));
    return it->second.final_status;
  }
  absl::StatusOr<protocol::TensorSet> DownloadCheckpoint(
      const std::string& study_id, const std::string& checkpoint_id) override {
    auto it = checkpoints.find(study_id + "/" + checkpoint_id);
    if (it == checkpoints.end()) return absl::NotFoundError("no such checkpoint");
    return it->second;
  }
  absl::StatusOr<v1::UploadModelResponse> UploadModel(const protocol::TensorSet& weights) override {
    v1::UploadModelResponse response;
    response.set_sha256(protocol::WeightsDigestHex(weights));
    response.set_total_bytes(weights.TotalBytes());
    response.set_tensors(static_cast<uint32_t>(weights.size()));
    response.set_already_stored(!uploaded.emplace(response.sha256(), weights).second);
    return response;
  }

 private:
  struct Study {
    v1::StudyStatus final_status;
    int running_polls = 0;
  };
  static v1::StudyStatus Running(v1::StudyStatus st) {
    st.set_state(v1::STUDY_STATE_RUNNING);
    st.clear_message();
    return st;
  }
  std::map<std::string, Study> studies_;
};

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_FAKE_COORDINATOR_API_H_
