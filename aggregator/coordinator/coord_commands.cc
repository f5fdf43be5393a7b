#include "aggregator/coordinator/coord_commands.h"

#include "absl/time/time.h"
#include "aggregator/coordinator/plain_json.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/steward_summary.h"
#include "aggregator/coordinator/study_spec_json.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::aggregator {

absl::Status EnrollSiteCommand(CoordinatorApi& api, const std::string& site,
                               const std::string& name, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::SiteInfo info, api.EnrollSite(site, name));
  out << "enrolled site " << info.site_id() << "\n";
  return absl::OkStatus();
}

absl::Status SetSiteEnabledCommand(CoordinatorApi& api, const std::string& site, bool enabled,
                                   std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::SiteInfo info, api.SetSiteEnabled(site, enabled));
  out << info.site_id() << (info.enabled() ? " enabled" : " disabled") << "\n";
  return absl::OkStatus();
}

namespace {

// A JSON array of the records, one per element, for scripts.
template <typename Records>
absl::Status PrintJsonArray(const Records& records, std::ostream& out) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& record : records) {
    SCV_ASSIGN_OR_RETURN(nlohmann::json j, PlainJson(record));
    array.push_back(std::move(j));
  }
  out << array.dump(2) << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status ListSitesCommand(CoordinatorApi& api, bool json, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::ListSitesResponse list, api.ListSites());
  if (json) return PrintJsonArray(list.sites(), out);
  for (const v1::SiteInfo& s : list.sites()) {
    out << s.site_id() << "\t" << (s.enabled() ? "enabled" : "disabled") << "\t"
        << (s.online() ? "online" : "offline") << "\t"
        << (s.last_seen_unix() ? absl::FormatTime(absl::FromUnixSeconds(s.last_seen_unix()))
                               : std::string("never seen"))
        << "\t" << s.device() << "\t" << s.activity() << "\n";
  }
  return absl::OkStatus();
}

absl::Status CreateStudyCommand(CoordinatorApi& api, const std::string& spec_file,
                                std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(spec_file));
  SCV_ASSIGN_OR_RETURN(v1::StudySpec spec, StudySpecFromJson(text));
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus created, api.CreateStudy(spec));
  out << "study " << created.study_id() << " created\n";
  return absl::OkStatus();
}

absl::Status CreateStudyDryRunCommand(CoordinatorApi& api, const std::string& spec_file,
                                      std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(spec_file));
  SCV_ASSIGN_OR_RETURN(v1::StudySpec spec, StudySpecFromJson(text));
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus would_create, api.CreateStudyDryRun(spec));
  out << "study " << would_create.study_id() << ": " << would_create.message() << "\n"
      << StewardSummary(would_create);
  return absl::OkStatus();
}

absl::Status ListStudiesCommand(CoordinatorApi& api, bool json, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::ListStudiesResponse list, api.ListStudies());
  if (json) return PrintJsonArray(list.studies(), out);
  for (const v1::StudyStatus& s : list.studies()) out << ProgressLine(s) << "\n";
  return absl::OkStatus();
}

absl::Status StudyStatusCommand(CoordinatorApi& api, const std::string& study, bool json,
                                std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus status, api.GetStudyStatus(study));
  if (json) {
    SCV_ASSIGN_OR_RETURN(nlohmann::json j, PlainJson(status));
    out << j.dump(2) << "\n";
    return absl::OkStatus();
  }
  out << StudyReportMarkdown(status);
  return absl::OkStatus();
}

absl::Status AbortStudyCommand(CoordinatorApi& api, const std::string& study,
                               const std::string& reason, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus status, api.AbortStudy(study, reason));
  out << "study " << status.study_id() << " " << status.message() << "\n";
  return absl::OkStatus();
}

absl::Status StudyReportCommand(CoordinatorApi& api, const std::string& study,
                                const std::string& dir, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus status, api.GetStudyStatus(study));
  SCV_RETURN_IF_ERROR(WriteStudyReport(status, dir));
  out << "report written to " << dir << "/report.md and " << dir << "/report.html\n";
  return absl::OkStatus();
}

}  // namespace scancov::aggregator
