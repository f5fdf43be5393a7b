// JSON for the per-site summaries that leave a site (nlohmann::json, so the aggregator can
// embed them in larger documents and the egress ledger can show them verbatim). Doubles
// round-trip exactly (nlohmann writes 17 significant digits).
//
// Objects have exactly the struct's field names, e.g. a LogisticSiteSummary is
//   {"beta": [...], "gradient": [...], "information": [...], "log_likelihood": -12.3,
//    "weight_sum": 40, "num_observations": 40, "num_events": 17, "num_perfectly_fitted": 0}
// FromJson returns InvalidArgument ("where: why") for a missing field or a wrong type; it never
// throws. Semantic checks (lengths, finiteness) are left to the consumers, which validate
// every summary anyway.
#ifndef SCANCOV_MODELS_STATS_SUMMARY_JSON_H_
#define SCANCOV_MODELS_STATS_SUMMARY_JSON_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/stats/log_rank.h"
#include "models/stats/logistic_model.h"
#include "models/stats/pvalue_combination.h"
#include "models/stats/survival_counts.h"
#include "nlohmann/json.hpp"

namespace scancov::stats {

nlohmann::json ToJson(const LogisticSiteSummary& summary);
nlohmann::json ToJson(const SurvivalCounts& counts);
nlohmann::json ToJson(const LogRankSummary& summary);
nlohmann::json ToJson(const SiteTest& test);

absl::StatusOr<LogisticSiteSummary> LogisticSiteSummaryFromJson(const nlohmann::json& j);
absl::StatusOr<SurvivalCounts> SurvivalCountsFromJson(const nlohmann::json& j);
absl::StatusOr<LogRankSummary> LogRankSummaryFromJson(const nlohmann::json& j);
absl::StatusOr<SiteTest> SiteTestFromJson(const nlohmann::json& j);

// Parses text without throwing: InvalidArgument on malformed JSON.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_SUMMARY_JSON_H_
