#include "aggregator/studies/tercile_rounds.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/linear_model.h"
#include "models/scores/risk_classes.h"

namespace scancov::aggregator {

stats::QuantileSearchOptions TercileSearchOptions() {
  stats::QuantileSearchOptions options;
  options.lower = -30.0;
  options.upper = 30.0;
  options.candidates_per_bracket = 31;
  options.tolerance = 1e-4;
  options.max_rounds = wire::kMaxTercileRounds;
  return options;
}

absl::StatusOr<stats::FederatedQuantileSearch> NewTercileSearch(int64_t n) {
  return stats::FederatedQuantileSearch::Create(n, {1.0 / 3.0, 2.0 / 3.0}, TercileSearchOptions());
}

absl::StatusOr<stats::FederatedQuantileSearch> ReplayTerciles(
    int64_t n, const std::vector<RoundRecord>& history) {
  SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search, NewTercileSearch(n));
  for (const RoundRecord& past : history) {
    const auto loss = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": terciles: ", why));
    };
    absl::StatusOr<wire::LogisticRoundResult> r = wire::ParseLogisticRoundResult(past.result_json);
    if (!r.ok()) return loss(r.status().message());
    if (!r->terciles) continue;
    if (r->tercile_candidates != search.Candidates()) {
      return loss("other candidates than the replayed search's");
    }
    if (absl::Status s = search.Update(r->tercile_pooled_counts); !s.ok()) {
      return loss(s.message());
    }
  }
  return search;
}

void AddTerciles(const stats::FederatedQuantileSearch& search, wire::LogisticModelFit& fit) {
  fit.terciles_tolerance_logit = search.options().tolerance;
  fit.terciles_rounds = search.rounds();
  const absl::StatusOr<std::vector<double>> q =
      search.Quantiles([](double eta) { return scores::Sigmoid(eta); });
  if (!q.ok()) {
    fit.terciles_error = std::string(q.status().message());
    return;
  }
  scores::RiskThresholds t;
  t.low_medium = (*q)[0];
  t.medium_high = (*q)[1];
  if (!scores::CheckRiskThresholds(t).ok()) {
    fit.terciles_error =
        "the two terciles of the training probabilities coincide (too many tied scores)";
    return;
  }
  const scores::FiveLevelScale scale = scores::FiveLevelScaleFromTerciles(t);
  fit.terciles = {t.low_medium, t.medium_high};
  fit.five_level_cuts.assign(scale.cuts.begin(), scale.cuts.end());
}

}  // namespace scancov::aggregator
