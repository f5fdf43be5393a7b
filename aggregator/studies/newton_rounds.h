// Exact federated Newton steps across rounds, shared by the studies that fit a logistic
// regression (logistic_regression_study.cc, ai_severity_rounds.cc). A round's site summaries, all
// evaluated at the same coefficients, add up to the pooled data's summary; the Newton coordinator
// is deterministic, so replaying the pooled summaries of the earlier rounds rebuilds its state
// (step halvings included) after any restart, with nothing kept outside the store.
#ifndef SCANCOV_AGGREGATOR_NEWTON_ROUNDS_H_
#define SCANCOV_AGGREGATOR_NEWTON_ROUNDS_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "models/stats/logistic_newton.h"

namespace scancov::aggregator {

// The sum of summaries evaluated at the same beta (InvalidArgument if they disagree).
absl::StatusOr<stats::LogisticSiteSummary> PoolSummaries(
    const std::vector<stats::LogisticSiteSummary>& sites);

// A coordinator that has taken the Newton steps of the earlier rounds (those whose result JSON
// `include` accepts, each holding "pooled_summary") and then this round's `current` summary.
absl::StatusOr<stats::LogisticNewtonCoordinator> ReplayNewton(
    int num_coefficients, const stats::LogisticOptions& options,
    const std::vector<RoundRecord>& history,
    const std::function<bool(const nlohmann::json&)>& include,
    const stats::LogisticSiteSummary& current);

// The same from the earlier rounds' pooled summaries, already read from the store.
absl::StatusOr<stats::LogisticNewtonCoordinator> ReplayNewton(
    int num_coefficients, const stats::LogisticOptions& options,
    const std::vector<stats::LogisticSiteSummary>& earlier,
    const stats::LogisticSiteSummary& current);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_NEWTON_ROUNDS_H_
