#include "aggregator/studies/tercile_rounds.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/linear_model.h"
#include "models/scores/risk_classes.h"

namespace scancov::aggregator {

using nlohmann::json;

stats::QuantileSearchOptions TercileSearchOptions() {
  stats::QuantileSearchOptions options;
  options.lower = -30.0;
  options.upper = 30.0;
  options.candidates_per_bracket = 31;
  options.tolerance = 1e-4;
  options.max_rounds = kMaxTercileRounds;
  return options;
}

absl::StatusOr<stats::FederatedQuantileSearch> NewTercileSearch(int64_t n) {
  return stats::FederatedQuantileSearch::Create(n, {1.0 / 3.0, 2.0 / 3.0}, TercileSearchOptions());
}

protocol::TensorSet TercileCheckpoint(const std::vector<double>& beta,
                                      const std::vector<double>& candidates) {
  protocol::TensorSet set;
  (void)set.Add(protocol::FromDoubles("beta", {static_cast<int64_t>(beta.size())},
                                      protocol::DType::kFloat64, beta));
  if (!candidates.empty()) {
    (void)set.Add(protocol::FromDoubles(kTercileCandidates,
                                        {static_cast<int64_t>(candidates.size())},
                                        protocol::DType::kFloat64, candidates));
  }
  return set;
}

absl::StatusOr<stats::FederatedQuantileSearch> ReplayTerciles(
    int64_t n, const std::vector<RoundRecord>& history) {
  SCV_ASSIGN_OR_RETURN(stats::FederatedQuantileSearch search, NewTercileSearch(n));
  for (const RoundRecord& past : history) {
    const json j = json::parse(past.result_json, nullptr, false);
    if (!j.is_object() || j.value("phase", std::string()) != "terciles") continue;
    const auto loss = [&](const std::string& why) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": terciles: ", why));
    };
    if (!j.contains(kTercileCandidates) || !j.contains("tercile_pooled_counts")) {
      return loss("no candidates or pooled counts");
    }
    std::vector<double> asked;
    std::vector<int64_t> counts;
    try {
      asked = j.at(kTercileCandidates).get<std::vector<double>>();
      counts = j.at("tercile_pooled_counts").get<std::vector<int64_t>>();
    } catch (const json::exception&) {
      return loss("malformed candidates or pooled counts");
    }
    if (asked != search.Candidates()) return loss("other candidates than the replayed search's");
    if (absl::Status s = search.Update(counts); !s.ok()) return loss(std::string(s.message()));
  }
  return search;
}

absl::Status ValidateTercileCounts(const json& result, size_t num_candidates) {
  if (!result.contains("tercile_counts") || !result.at("tercile_counts").is_array() ||
      !result.contains("n_rows") || !result.at("n_rows").is_number_integer()) {
    return absl::InvalidArgumentError("result_json: no 'tercile_counts' or 'n_rows'");
  }
  const int64_t n = result.at("n_rows").get<int64_t>();
  const json& counts = result.at("tercile_counts");
  if (n < 0 || n > kMaxTercileSiteRows) {
    return absl::InvalidArgumentError(
        absl::StrCat("result_json: n_rows must be in [0, ", kMaxTercileSiteRows, "]"));
  }
  if (counts.size() != num_candidates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "result_json: ", counts.size(), " tercile counts for ", num_candidates, " candidates"));
  }
  int64_t previous = 0;
  for (const json& c : counts) {
    if (!c.is_number_integer() || c.get<int64_t>() < previous || c.get<int64_t>() > n) {
      return absl::InvalidArgumentError(
          "result_json: tercile counts must be non-decreasing integers in [0, n_rows]");
    }
    previous = c.get<int64_t>();
  }
  return absl::OkStatus();
}

json TercilesJson(const stats::FederatedQuantileSearch& search) {
  json out = {{"terciles_tolerance_logit", search.options().tolerance},
              {"terciles_rounds", search.rounds()}};
  const absl::StatusOr<std::vector<double>> q =
      search.Quantiles([](double eta) { return scores::Sigmoid(eta); });
  if (!q.ok()) {
    out["terciles_error"] = std::string(q.status().message());
    return out;
  }
  scores::RiskThresholds t;
  t.low_medium = (*q)[0];
  t.medium_high = (*q)[1];
  if (!scores::CheckRiskThresholds(t).ok()) {
    out["terciles_error"] =
        "the two terciles of the training probabilities coincide (too many tied scores)";
    return out;
  }
  const scores::FiveLevelScale scale = scores::FiveLevelScaleFromTerciles(t);
  out["terciles"] = {t.low_medium, t.medium_high};
  out["five_level_cuts"] = std::vector<double>(scale.cuts.begin(), scale.cuts.end());
  return out;
}

}  // namespace scancov::aggregator
