// `scancov-coord validate`: runs an external-validation plan (validation_plan.h) against the
// aggregator: checks the AI-severity studies its features use, creates the training studies and
// waits for them, creates the evaluation studies from their fits and waits for them, then
// writes every study's report under the output folder and the AUC matrix (validation.md).
// Progress lines and the matrix go to `out`, as scancov-coord prints them.
//
// Not thread-safe (one caller at a time per CoordinatorApi).
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_VALIDATE_COMMAND_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_VALIDATE_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "core/env.h"

namespace scancov::aggregator {

struct ValidateOptions {
  std::string plan_file;    // the plan (JSON)
  std::string out_dir;      // reports: <out_dir>/<study id>/, <out_dir>/validation.md
  double timeout_s = 3600;  // per wait (training, then evaluation)
  Clock* clock = Clock::Real();
};

// Errors: the plan unreadable or invalid, an AI-severity study missing or unfinished ("plan:
// feature 'ai_severity:<study>': why"), a study refused by the aggregator, a wait timing out,
// a report that cannot be written. A training study without a fit is reported on `out` and
// left out of the evaluation.
absl::Status RunValidationPlan(CoordinatorApi& api, const ValidateOptions& options,
                               std::ostream& out);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_VALIDATE_COMMAND_H_
