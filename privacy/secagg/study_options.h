// A study's secure-aggregation options, the "secure_aggregation" block of its privacy options
// (StudySpec.privacy_json, carried by every task). The aggregator checks them at study creation
// (with the number of sites) and builds its sessions from them; every node checks that the
// session the aggregator offers carries exactly these (what its steward approved).
//
//   {"secure_aggregation": {"threshold": 2, "fractional_bits": 20, "max_abs_value": 1e6,
//                           "neighbours": 0}}
//
// threshold is required; the others default as below. Thread safety: pure functions.
#ifndef SCANCOV_PRIVACY_SECAGG_STUDY_OPTIONS_H_
#define SCANCOV_PRIVACY_SECAGG_STUDY_OPTIONS_H_

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace scancov::privacy::secagg {

struct StudyOptions {
  int threshold = 0;           // t, required
  int fractional_bits = 20;    // fixed point of num_samples x (trained - global)
  double max_abs_value = 1e6;  // per element of that vector, before encoding
  int neighbours = 0;          // SecAgg+ neighbourhood size; 0: every other participant
};

// The block alone: an object with known keys, threshold in [1, 255], fractional_bits in
// [0, 62], neighbours in [0, 255], max_abs_value finite and > 0. InvalidArgument naming the key.
absl::StatusOr<StudyOptions> ParseStudyOptions(const nlohmann::json& block);

// For `num_sites` sites as well: 2 <= t <= n, t a majority of each neighbourhood (2t > k + 1,
// or > n on the complete graph), neighbours even and below n, and no fixed-point overflow of a
// sum of n vectors.
absl::Status CheckStudyOptions(const StudyOptions& options, int num_sites);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_STUDY_OPTIONS_H_
