// What the aggregator's log says about a study's rounds (spdlog lines "YYYY-mm-dd HH:MM:SS.mmm
// <level> [aggregator] <message>", local time; aggregator/server/federation*.cc): when each
// result was accepted and when each round closed. The round is closed inside the submission of
// its last result, before that result's "accepted" line is written.
#ifndef SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_LOG_H_
#define SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_LOG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace scancov::bench {

struct LoggedRound {
  std::vector<double> accepted;  // "accepted result of task '<study>/r<round>/...'", in order
  double closed = -1;            // "round <round> closed", -1 if not seen
  bool rebuilt = false;          // "folding N stored updates": the running aggregate was lost
};

// Seconds since `epoch` for every round of `study_id`.
absl::StatusOr<std::map<uint32_t, LoggedRound>> ReadAggregatorLog(const std::string& path,
                                                                  const std::string& study_id,
                                                                  absl::Time epoch);

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_FEDERATION_LOAD_AGGREGATOR_LOG_H_
