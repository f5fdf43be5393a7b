// The "terciles" phase of the logistic_regression study (logistic_regression_study.cc): after
// Newton has converged, the risk-class thresholds of the fitted model are the 1/3- and
// 2/3-quantiles of its own training probabilities (R type 7, as scores::TercileThresholds on
// pooled rows), found by stats::FederatedQuantileSearch on the linear-predictor scale from counts
// only.
//
// Each terciles round's checkpoint holds the fitted beta and the round's candidate linear
// predictors (protocol/wire/logistic_regression.h LogisticCheckpoint); every site that took part
// in the fit returns, per candidate, how many of its training rows (the fit's rows: complete
// cases, same split) have a linear predictor <= it, and its row count. The round's result keeps
// the candidates and the pooled counts; like the Newton rounds, the search is deterministic and
// rebuilt from them after a restart, with nothing kept outside the store.
#ifndef SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_
#define SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "models/stats/federated_quantile.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {

// The search the study runs: start [-30, 30] on the logit scale, 31 candidates per bracket,
// tolerance 1e-4 on the logit scale (so each tercile is within 1.25e-5 on the probability
// scale), usually 4 rounds, at most wire::kMaxTercileRounds.
stats::QuantileSearchOptions TercileSearchOptions();
// A new search for the terciles of `n` training rows.
absl::StatusOr<stats::FederatedQuantileSearch> NewTercileSearch(int64_t n);

// The search over `n` rows after the terciles rounds of `history`. DataLoss when a stored round
// is malformed or asked other candidates than the replayed search asks (the store does not match
// this code).
absl::StatusOr<stats::FederatedQuantileSearch> ReplayTerciles(
    int64_t n, const std::vector<RoundRecord>& history);

// What a finished search adds to the fit: its rounds and tolerance, and the terciles with the
// 1-5 scale's cuts (scores::FiveLevelScaleFromTerciles), or a terciles_error when the terciles
// coincide (too many tied scores).
void AddTerciles(const stats::FederatedQuantileSearch& search, wire::LogisticModelFit& fit);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_
