// Following studies until they end, by polling the aggregator through a CoordinatorApi on an
// injected Clock (so that tests run a federation between polls and never sleep).
//
//   WatchStudy      `scancov-coord watch`: prints the study's progress line whenever it
//                   changes, writes the report when it ends (if asked);
//   WaitForStudies  what `validate` and `export-model --choose-cut-points` wait with.
//
// Not thread-safe (one caller at a time per CoordinatorApi).
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_STUDY_WAIT_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_STUDY_WAIT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "core/env.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

struct WatchOptions {
  double interval_s = 2;    // between polls
  double timeout_s = 3600;  // DeadlineExceeded ("watch: timed out") after this
  std::string report_dir;   // write the study's report here when it ends ("" : none)
  Clock* clock = Clock::Real();
};

// Polls `study` until it is no longer running. OK when it ended DONE; Aborted("study failed:
// <message>") otherwise; the API's error as it came.
absl::Status WatchStudy(CoordinatorApi& api, const std::string& study, const WatchOptions& options,
                        std::ostream& out);

// Polls every 500 ms until none of `studies` is running; their final statuses in the given
// order. DeadlineExceeded("validate: timed out") after `timeout_s`.
absl::StatusOr<std::vector<v1::StudyStatus>> WaitForStudies(CoordinatorApi& api,
                                                            const std::vector<std::string>& studies,
                                                            double timeout_s,
                                                            Clock* clock = Clock::Real());

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_STUDY_WAIT_H_
