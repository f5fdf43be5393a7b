// The coordinator's everyday commands (scancov-coord enroll, disable / enable, sites,
// create-study, studies, status, report) over a CoordinatorApi: each makes its call and prints
// what scancov-coord prints to `out`. The longer ones have their own files: study_wait.h
// (watch), validate_command.h (validate), export_commands.h (export-model, export-checkpoint).
//
// Not thread-safe (one caller at a time per CoordinatorApi).
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_COORD_COMMANDS_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_COORD_COMMANDS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "aggregator/coordinator/coordinator_api.h"

namespace scancov::aggregator {

// "enrolled site <id>"
absl::Status EnrollSiteCommand(CoordinatorApi& api, const std::string& site,
                               const std::string& name, std::ostream& out);
// "<id> enabled" / "<id> disabled"
absl::Status SetSiteEnabledCommand(CoordinatorApi& api, const std::string& site, bool enabled,
                                   std::ostream& out);
// One line per site: id, enabled / disabled, when last seen (local time) or "never seen",
// device; tab-separated. With `json`, a JSON array of the SiteInfo records (plain_json.h).
absl::Status ListSitesCommand(CoordinatorApi& api, bool json, std::ostream& out);
// Creates the study of a study spec file (study_spec_json.h): "study <id> created".
absl::Status CreateStudyCommand(CoordinatorApi& api, const std::string& spec_file,
                                std::ostream& out);
// Has the aggregator check the study of a spec file as a create would, creating nothing, and
// prints the aggregator's answer ("study <id>: dry run: ...") and what each site's steward will
// be asked to approve (steward_summary.h). Fails with the error a create would give.
absl::Status CreateStudyDryRunCommand(CoordinatorApi& api, const std::string& spec_file,
                                      std::ostream& out);
// One progress line (report.h) per study; with `json`, a JSON array of their statuses.
absl::Status ListStudiesCommand(CoordinatorApi& api, bool json, std::ostream& out);
// The study's report as Markdown; with `json`, its whole StudyStatus as plain JSON
// (plain_json.h: "spec", "privacy" and each round's "result" as objects).
absl::Status StudyStatusCommand(CoordinatorApi& api, const std::string& study, bool json,
                                std::ostream& out);
// Ends a running study with the coordinator's reason: "study <id> aborted by <who> in round
// <r>: <reason>". Refused (FailedPrecondition) for a study that already ended.
absl::Status AbortStudyCommand(CoordinatorApi& api, const std::string& study,
                               const std::string& reason, std::ostream& out);
// Writes the study's report (Markdown, CSV, SVG) into `dir`: "report written to <dir>/report.md".
absl::Status StudyReportCommand(CoordinatorApi& api, const std::string& study,
                                const std::string& dir, std::ostream& out);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_COORD_COMMANDS_H_
