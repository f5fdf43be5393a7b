#include "models/stats/summary_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::stats {
namespace {

// Reads j[key] as T, turning nlohmann's exceptions into a Status.
template <typename T>
absl::Status Read(absl::string_view where, const nlohmann::json& j, const char* key, T& out) {
  try {
    if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
    j.at(key).get_to(out);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field '", key, "': ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

// Reads one field of `object` named as in the struct.
#define SCV_READ_FIELD(where, j, object, field) \
  SCV_RETURN_IF_ERROR(Read(where, j, #field, object.field))

nlohmann::json ToJson(const LogisticSiteSummary& s) {
  return {{"beta", s.beta},
          {"gradient", s.gradient},
          {"information", s.information},
          {"log_likelihood", s.log_likelihood},
          {"weight_sum", s.weight_sum},
          {"num_observations", s.num_observations},
          {"num_events", s.num_events},
          {"num_perfectly_fitted", s.num_perfectly_fitted}};
}

nlohmann::json ToJson(const SurvivalCounts& c) {
  return {
      {"times", c.times}, {"at_risk", c.at_risk}, {"events", c.events}, {"censored", c.censored}};
}

nlohmann::json ToJson(const LogRankSummary& s) {
  return {{"observed", s.observed}, {"expected", s.expected}, {"covariance", s.covariance}};
}

nlohmann::json ToJson(const SiteTest& t) {
  return {{"p_value", t.p_value}, {"direction", t.direction}, {"n", t.n}};
}

absl::StatusOr<LogisticSiteSummary> LogisticSiteSummaryFromJson(const nlohmann::json& j) {
  constexpr char kWhere[] = "LogisticSiteSummaryFromJson";
  LogisticSiteSummary s;
  SCV_READ_FIELD(kWhere, j, s, beta);
  SCV_READ_FIELD(kWhere, j, s, gradient);
  SCV_READ_FIELD(kWhere, j, s, information);
  SCV_READ_FIELD(kWhere, j, s, log_likelihood);
  SCV_READ_FIELD(kWhere, j, s, weight_sum);
  SCV_READ_FIELD(kWhere, j, s, num_observations);
  SCV_READ_FIELD(kWhere, j, s, num_events);
  SCV_READ_FIELD(kWhere, j, s, num_perfectly_fitted);
  return s;
}

absl::StatusOr<SurvivalCounts> SurvivalCountsFromJson(const nlohmann::json& j) {
  constexpr char kWhere[] = "SurvivalCountsFromJson";
  SurvivalCounts c;
  SCV_READ_FIELD(kWhere, j, c, times);
  SCV_READ_FIELD(kWhere, j, c, at_risk);
  SCV_READ_FIELD(kWhere, j, c, events);
  SCV_READ_FIELD(kWhere, j, c, censored);
  return c;
}

absl::StatusOr<LogRankSummary> LogRankSummaryFromJson(const nlohmann::json& j) {
  constexpr char kWhere[] = "LogRankSummaryFromJson";
  LogRankSummary s;
  SCV_READ_FIELD(kWhere, j, s, observed);
  SCV_READ_FIELD(kWhere, j, s, expected);
  SCV_READ_FIELD(kWhere, j, s, covariance);
  return s;
}

absl::StatusOr<SiteTest> SiteTestFromJson(const nlohmann::json& j) {
  constexpr char kWhere[] = "SiteTestFromJson";
  SiteTest t;
  SCV_READ_FIELD(kWhere, j, t, p_value);
  SCV_READ_FIELD(kWhere, j, t, direction);
  SCV_READ_FIELD(kWhere, j, t, n);
  return t;
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("ParseJson: malformed JSON");
  return j;
}

#undef SCV_READ_FIELD

}  // namespace scancov::stats
