#include "aggregator/coordinator/study_wait.h"

#include "aggregator/coordinator/report.h"
#include "core/status_macros.h"

namespace scancov::aggregator {

absl::Status WatchStudy(CoordinatorApi& api, const std::string& study, const WatchOptions& options,
                        std::ostream& out) {
  const absl::Time deadline = options.clock->Now() + absl::Seconds(options.timeout_s);
  std::string last;
  while (true) {
    SCV_ASSIGN_OR_RETURN(v1::StudyStatus status, api.GetStudyStatus(study));
    const std::string line = ProgressLine(status);
    if (line != last) out << line << std::endl;
    last = line;
    if (status.state() != v1::STUDY_STATE_RUNNING) {
      if (!options.report_dir.empty()) {
        SCV_RETURN_IF_ERROR(WriteStudyReport(status, options.report_dir));
        out << "report written to " << options.report_dir << "/report.md and " << options.report_dir
            << "/report.html" << std::endl;
      }
      return status.state() == v1::STUDY_STATE_DONE
                 ? absl::OkStatus()
                 : absl::AbortedError("study failed: " + status.message());
    }
    if (options.clock->Now() > deadline) return absl::DeadlineExceededError("watch: timed out");
    options.clock->SleepFor(absl::Seconds(options.interval_s));
  }
}

absl::StatusOr<std::vector<v1::StudyStatus>> WaitForStudies(CoordinatorApi& api,
                                                            const std::vector<std::string>& studies,
                                                            double timeout_s, Clock* clock) {
  const absl::Time deadline = clock->Now() + absl::Seconds(timeout_s);
  while (true) {
    std::vector<v1::StudyStatus> statuses;
    int running = 0;
    for (const std::string& id : studies) {
      SCV_ASSIGN_OR_RETURN(v1::StudyStatus st, api.GetStudyStatus(id));
      running += st.state() == v1::STUDY_STATE_RUNNING;
      statuses.push_back(std::move(st));
    }
    if (running == 0) return statuses;
    if (clock->Now() > deadline) return absl::DeadlineExceededError("validate: timed out");
    clock->SleepFor(absl::Milliseconds(500));
  }
}

}  // namespace scancov::aggregator
