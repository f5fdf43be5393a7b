#include "aggregator/studies/newton_rounds.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"

namespace scancov::aggregator {

absl::StatusOr<stats::LogisticSiteSummary> PoolSummaries(
    const std::vector<stats::LogisticSiteSummary>& s) {
  if (s.empty()) return absl::FailedPreconditionError("no site summaries");
  stats::LogisticSiteSummary total = s[0];
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].beta != total.beta || s[i].gradient.size() != total.gradient.size() ||
        s[i].information.size() != total.information.size()) {
      return absl::InvalidArgumentError("site summaries disagree on beta or size");
    }
    for (size_t k = 0; k < total.gradient.size(); ++k) total.gradient[k] += s[i].gradient[k];
    for (size_t k = 0; k < total.information.size(); ++k) {
      total.information[k] += s[i].information[k];
    }
    total.log_likelihood += s[i].log_likelihood;
    total.weight_sum += s[i].weight_sum;
    total.num_observations += s[i].num_observations;
    total.num_events += s[i].num_events;
    total.num_perfectly_fitted += s[i].num_perfectly_fitted;
  }
  return total;
}

absl::StatusOr<stats::LogisticNewtonCoordinator> ReplayNewton(
    int num_coefficients, const stats::LogisticOptions& options,
    const std::vector<RoundRecord>& history,
    const std::function<bool(const nlohmann::json&)>& include,
    const stats::LogisticSiteSummary& current) {
  SCV_ASSIGN_OR_RETURN(stats::LogisticNewtonCoordinator newton,
                       stats::LogisticNewtonCoordinator::Create(num_coefficients, options));
  for (const RoundRecord& past : history) {
    const nlohmann::json j = nlohmann::json::parse(past.result_json, nullptr, false);
    if (!j.is_object() || !include(j)) continue;
    if (!j.contains("pooled_summary")) {
      return absl::DataLossError(absl::StrCat("round ", past.round, ": no pooled summary"));
    }
    SCV_ASSIGN_OR_RETURN(stats::LogisticSiteSummary s,
                         stats::LogisticSiteSummaryFromJson(j.at("pooled_summary")));
    SCV_RETURN_IF_ERROR(newton.Update({s}));
  }
  SCV_RETURN_IF_ERROR(newton.Update({current}));
  return newton;
}

absl::StatusOr<stats::LogisticNewtonCoordinator> ReplayNewton(
    int num_coefficients, const stats::LogisticOptions& options,
    const std::vector<stats::LogisticSiteSummary>& earlier,
    const stats::LogisticSiteSummary& current) {
  SCV_ASSIGN_OR_RETURN(stats::LogisticNewtonCoordinator newton,
                       stats::LogisticNewtonCoordinator::Create(num_coefficients, options));
  for (const stats::LogisticSiteSummary& s : earlier) SCV_RETURN_IF_ERROR(newton.Update({s}));
  SCV_RETURN_IF_ERROR(newton.Update({current}));
  return newton;
}

}  // namespace scancov::aggregator
