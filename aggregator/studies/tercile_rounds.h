// The "terciles" phase of the logistic_regression study (logistic_study.cc): after Newton has
// converged, the risk-class thresholds of the fitted model are the 1/3- and 2/3-quantiles of
// its own training probabilities (R type 7, as scores::TercileThresholds on pooled rows), found
// by stats::FederatedQuantileSearch on the linear-predictor scale from counts only.
//
// Each terciles round's checkpoint holds the fitted "beta" and the round's candidate linear
// predictors "tercile_candidates"; every site that took part in the fit returns, per candidate,
// how many of its training rows (the fit's rows: complete cases, same split) have a linear
// predictor <= it ("tercile_counts") and its row count ("n_rows"). The round's result JSON
// keeps the candidates and the pooled counts; like the Newton rounds, the search is
// deterministic and rebuilt from them after a restart, with nothing kept outside the store.
#ifndef SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_
#define SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/server/store.h"
#include "models/stats/federated_quantile.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

inline constexpr char kTercileCandidates[] = "tercile_candidates";
// The most terciles rounds a study asks for: a node answers no more per study
// (node/tercile_budget.h), so a search that needs more ends with a "terciles_error".
inline constexpr int kMaxTercileRounds = 8;
// The most rows one site may report: far above any hospital, and low enough that the pooled
// counts of any number of sites a study can hold cannot overflow int64.
inline constexpr int64_t kMaxTercileSiteRows = int64_t{1} << 40;

// The search the study runs: start [-30, 30] on the logit scale, 31 candidates per bracket,
// tolerance 1e-4 on the logit scale (so each tercile is within 1.25e-5 on the probability
// scale), usually 4 rounds, at most kMaxTercileRounds.
stats::QuantileSearchOptions TercileSearchOptions();
// A new search for the terciles of `n` training rows.
absl::StatusOr<stats::FederatedQuantileSearch> NewTercileSearch(int64_t n);

// A checkpoint with one float64 tensor "beta" and, when `candidates` is not empty, one float64
// tensor "tercile_candidates".
protocol::TensorSet TercileCheckpoint(const std::vector<double>& beta,
                                      const std::vector<double>& candidates);

// The search over `n` rows after the terciles rounds of `history` (result JSON "phase":
// "terciles"). DataLoss when a stored round is malformed or asked other candidates than the
// replayed search asks (the store does not match this code).
absl::StatusOr<stats::FederatedQuantileSearch> ReplayTerciles(
    int64_t n, const std::vector<RoundRecord>& history);

// Checks one site's answer to a terciles task with `num_candidates` candidates: "tercile_counts"
// (that many non-decreasing counts in [0, n_rows]) and "n_rows" in [0, kMaxTercileSiteRows].
absl::Status ValidateTercileCounts(const nlohmann::json& result, size_t num_candidates);

// The fields a finished search adds to the fit: "terciles" [t1, t2] (probabilities),
// "five_level_cuts" (scores::FiveLevelScaleFromTerciles), "terciles_tolerance_logit",
// "terciles_rounds"; or "terciles_error" when the terciles coincide (too many tied scores).
nlohmann::json TercilesJson(const stats::FederatedQuantileSearch& search);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_TERCILE_ROUNDS_H_
