// The logistic_regression kind's combined result (protocol/wire/logistic_regression.h).
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "logistic_regression";
constexpr char kWhere[] = "logistic result";

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": ", why));
}

// JSON has no NaN: an undefined statistic travels as null.
json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

absl::StatusOr<double> NumOrNaN(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return Bad(absl::StrCat(where, ": ", key, " is required"));
  if (j.at(key).is_null()) return std::numeric_limits<double>::quiet_NaN();
  return JsonNumber(j.at(key), absl::StrCat(kWhere, ": ", where), key);
}

json FitToJson(const LogisticModelFit& f) {
  json terms = json::array();
  for (const LogisticTerm& t : f.coefficients) {
    terms.push_back({{"term", t.term},
                     {"beta", Num(t.beta)},
                     {"se", Num(t.se)},
                     {"z", Num(t.z)},
                     {"p", Num(t.p)},
                     {"or", Num(t.odds_ratio)},
                     {"ci_lower", Num(t.ci_lower)},
                     {"ci_upper", Num(t.ci_upper)}});
  }
  json j = {{"converged", f.converged},
            {"iterations", f.iterations},
            {"n", f.n},
            {"events", f.events},
            {"log_likelihood", Num(f.log_likelihood)},
            {"l2", f.l2},
            {"coefficients", terms}};
  if (f.terciles_rounds) j["terciles_rounds"] = *f.terciles_rounds;
  if (f.terciles_tolerance_logit) j["terciles_tolerance_logit"] = *f.terciles_tolerance_logit;
  if (!f.terciles.empty()) {
    j["terciles"] = f.terciles;
    j["five_level_cuts"] = f.five_level_cuts;
  }
  if (!f.terciles_error.empty()) j["terciles_error"] = f.terciles_error;
  return j;
}

absl::StatusOr<LogisticTerm> TermFromJson(const json& t, size_t i) {
  const std::string where = absl::StrCat("fit: coefficients[", i, "]");
  if (!t.is_object()) return Bad(where + ": not an object");
  LogisticTerm term;
  SCV_ASSIGN_OR_RETURN(term.term, StringField(t, "term", absl::StrCat(kWhere, ": ", where), ""));
  if (term.term.empty()) return Bad(where + ": term is required");
  SCV_ASSIGN_OR_RETURN(term.beta, NumOrNaN(t, "beta", where));
  SCV_ASSIGN_OR_RETURN(term.se, NumOrNaN(t, "se", where));
  SCV_ASSIGN_OR_RETURN(term.z, NumOrNaN(t, "z", where));
  SCV_ASSIGN_OR_RETURN(term.p, NumOrNaN(t, "p", where));
  SCV_ASSIGN_OR_RETURN(term.odds_ratio, NumOrNaN(t, "or", where));
  SCV_ASSIGN_OR_RETURN(term.ci_lower, NumOrNaN(t, "ci_lower", where));
  SCV_ASSIGN_OR_RETURN(term.ci_upper, NumOrNaN(t, "ci_upper", where));
  return term;
}

// The terciles phase's fields of a fit, if any.
absl::Status TercilesFromJson(const json& j, LogisticModelFit& f) {
  const std::string where = absl::StrCat(kWhere, ": fit");
  if (j.contains("terciles_rounds")) {
    SCV_ASSIGN_OR_RETURN(f.terciles_rounds,
                         JsonIntIn(j.at("terciles_rounds"), where, "terciles_rounds", 0, 1000));
  }
  if (j.contains("terciles_tolerance_logit")) {
    SCV_ASSIGN_OR_RETURN(f.terciles_tolerance_logit,
                         NumberField(j, "terciles_tolerance_logit", where, 0.0));
  }
  SCV_ASSIGN_OR_RETURN(f.terciles_error, StringField(j, "terciles_error", where, ""));
  if (!j.contains("terciles")) return absl::OkStatus();
  const json& t = j.at("terciles");
  const json& c = j.contains("five_level_cuts") ? j.at("five_level_cuts") : json();
  const auto numbers = [](const json& v, size_t n) {
    if (!v.is_array() || v.size() != n) return false;
    for (const json& x : v) {
      if (!x.is_number()) return false;
    }
    return true;
  };
  if (!numbers(t, 2) || !numbers(c, 4)) {
    return Bad("fit: terciles must be 2 numbers, five_level_cuts 4");
  }
  f.terciles = t.get<std::vector<double>>();
  f.five_level_cuts = c.get<std::vector<double>>();
  if (!(0 < f.terciles[0] && f.terciles[0] < f.terciles[1] && f.terciles[1] < 1)) {
    return Bad("fit: terciles are not 0 < t1 < t2 < 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<LogisticModelFit> FitFromJson(const json& j) {
  const std::string where = absl::StrCat(kWhere, ": fit");
  if (!j.is_object()) return Bad("fit: not an object");
  LogisticModelFit f;
  SCV_ASSIGN_OR_RETURN(f.converged, BoolField(j, "converged", where, true));
  SCV_ASSIGN_OR_RETURN(const int64_t iterations, IntField(j, "iterations", where, 0, 0, 100000));
  f.iterations = static_cast<int>(iterations);
  if (!j.contains("n") || !j.contains("events")) return Bad("fit: n and events are required");
  SCV_ASSIGN_OR_RETURN(f.n, IntField(j, "n", where, 0, 0, int64_t{1} << 50));
  SCV_ASSIGN_OR_RETURN(f.events, IntField(j, "events", where, 0, 0, f.n));
  SCV_ASSIGN_OR_RETURN(f.log_likelihood, NumOrNaN(j, "log_likelihood", "fit"));
  SCV_ASSIGN_OR_RETURN(f.l2, NumberField(j, "l2", where, 0.0));
  if (!j.contains("coefficients") || !j.at("coefficients").is_array()) {
    return Bad("fit: coefficients must be a list");
  }
  for (size_t i = 0; i < j.at("coefficients").size(); ++i) {
    SCV_ASSIGN_OR_RETURN(LogisticTerm t, TermFromJson(j.at("coefficients")[i], i));
    f.coefficients.push_back(std::move(t));
  }
  SCV_RETURN_IF_ERROR(TercilesFromJson(j, f));
  return f;
}

absl::Status RefusedFromJson(const json& j, LogisticRoundResult& r) {
  if (!j.contains("refused")) return absl::OkStatus();
  if (!j.at("refused").is_array()) return Bad("refused must be a list");
  for (const json& e : j.at("refused")) {
    LogisticRefusal refusal;
    SCV_ASSIGN_OR_RETURN(refusal.site,
                         StringField(e, "site", absl::StrCat(kWhere, ": refused"), ""));
    SCV_ASSIGN_OR_RETURN(refusal.reason,
                         StringField(e, "reason", absl::StrCat(kWhere, ": refused"), ""));
    if (!e.is_object() || refusal.site.empty()) return Bad("refused: an entry names no site");
    r.refused.push_back(std::move(refusal));
  }
  return absl::OkStatus();
}

absl::Status TercileRoundFromJson(const json& j, LogisticRoundResult& r) {
  const json* candidates = j.contains(kTercileCandidates) ? &j.at(kTercileCandidates) : nullptr;
  const json* counts =
      j.contains("tercile_pooled_counts") ? &j.at("tercile_pooled_counts") : nullptr;
  if (candidates == nullptr || counts == nullptr || !candidates->is_array() ||
      !counts->is_array() || candidates->size() != counts->size() || candidates->empty()) {
    return Bad("a terciles round needs as many tercile_pooled_counts as tercile_candidates");
  }
  for (size_t i = 0; i < candidates->size(); ++i) {
    const json& x = (*candidates)[i];
    const json& c = (*counts)[i];
    if (!x.is_number() || !std::isfinite(x.get<double>()) || !c.is_number_integer() ||
        c.get<int64_t>() < 0) {
      return Bad("tercile candidates must be finite numbers, pooled counts integers >= 0");
    }
    r.tercile_candidates.push_back(x.get<double>());
    r.tercile_pooled_counts.push_back(c.get<int64_t>());
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<double> LogisticModelFit::Beta() const {
  std::vector<double> beta;
  for (const LogisticTerm& t : coefficients) beta.push_back(t.beta);
  return beta;
}

std::string ToJson(const LogisticRoundResult& r) {
  json refused = json::array();
  for (const LogisticRefusal& e : r.refused)
    refused.push_back({{"site", e.site}, {"reason", e.reason}});
  json j = {{"analysis", kKind}, {"sites", r.sites}, {"refused", refused}};
  if (r.terciles) {
    j["phase"] = "terciles";
    j[kTercileCandidates] = r.tercile_candidates;
    j["tercile_pooled_counts"] = r.tercile_pooled_counts;
  } else {
    j["pooled_summary"] = stats::ToJson(r.pooled_summary);
  }
  if (r.fit) j["fit"] = FitToJson(*r.fit);
  return j.dump();
}

absl::StatusOr<LogisticRoundResult> ParseLogisticRoundResult(const std::string& text) {
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, kWhere));
  LogisticRoundResult r;
  SCV_ASSIGN_OR_RETURN(const std::string phase, StringField(j, "phase", kWhere, ""));
  if (!phase.empty() && phase != "terciles") return Bad("phase must be terciles when given");
  r.terciles = phase == "terciles";
  SCV_ASSIGN_OR_RETURN(const int64_t sites, IntField(j, "sites", kWhere, 0, 0, 1000000));
  r.sites = static_cast<int>(sites);
  SCV_RETURN_IF_ERROR(RefusedFromJson(j, r));
  if (r.terciles) {
    SCV_RETURN_IF_ERROR(TercileRoundFromJson(j, r));
  } else {
    if (!j.contains("pooled_summary")) return Bad("a Newton round needs its pooled_summary");
    SCV_ASSIGN_OR_RETURN(r.pooled_summary,
                         stats::LogisticSiteSummaryFromJson(j.at("pooled_summary")));
  }
  if (j.contains("fit")) {
    SCV_ASSIGN_OR_RETURN(r.fit, FitFromJson(j.at("fit")));
  }
  if (r.terciles && !r.fit) return Bad("a terciles round carries the fit");
  return r;
}

}  // namespace scancov::wire
