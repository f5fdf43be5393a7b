#include "protocol/wire/univariate_association.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "univariate_association";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// JSON has no NaN: undefined statistics travel as null.
json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double NumOrNaN(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null() || !j.at(key).is_number()) return kNaN;
  return j.at(key).get<double>();
}

absl::StatusOr<AssociationTerm> ParseTerm(const json& t, const std::string& where,
                                          bool allow_absent) {
  if (!t.is_object()) return absl::InvalidArgumentError(where + ": not an object");
  AssociationTerm r;
  SCV_ASSIGN_OR_RETURN(r.term, StringField(t, "term", where, ""));
  SCV_ASSIGN_OR_RETURN(r.variable, StringField(t, "variable", where, r.term));
  SCV_ASSIGN_OR_RETURN(r.type, StringField(t, "type", where, ""));
  SCV_ASSIGN_OR_RETURN(r.status, StringField(t, "status", where, ""));
  SCV_ASSIGN_OR_RETURN(r.reason, StringField(t, "reason", where, ""));
  if (r.status != "ok") {
    if (r.status != "refused" && r.status != "failed" && !(allow_absent && r.status == "absent")) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown status '", r.status, "'"));
    }
    return r;
  }
  SCV_ASSIGN_OR_RETURN(r.n, IntField(t, "n", where, 0, 0, int64_t{1} << 40));
  SCV_ASSIGN_OR_RETURN(r.events, IntField(t, "events", where, 0, 0, r.n));
  r.odds_ratio = NumOrNaN(t, "or");
  r.ci_lower = NumOrNaN(t, "ci_lower");
  r.ci_upper = NumOrNaN(t, "ci_upper");
  r.p = NumOrNaN(t, "p");
  r.z = NumOrNaN(t, "z");
  r.log_or = NumOrNaN(t, "log_or");
  r.se = NumOrNaN(t, "se");
  for (double v : {r.odds_ratio, r.ci_lower, r.ci_upper, r.p, r.z, r.log_or, r.se}) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(where + ": missing or non-finite value");
    }
  }
  if (!(r.p > 0 && r.p <= 1) || r.n <= 0 || !(r.se > 0)) {
    return absl::InvalidArgumentError(where + ": p, n or se out of range");
  }
  return r;
}

json TermToJson(const AssociationTerm& r, bool with_names) {
  json j = json::object();
  if (with_names) j = {{"term", r.term}, {"variable", r.variable}, {"type", r.type}};
  j["status"] = r.status;
  if (r.status != "ok") {
    j["reason"] = r.reason;
    return j;
  }
  j["n"] = r.n;
  j["events"] = r.events;
  j["or"] = r.odds_ratio;
  j["ci_lower"] = r.ci_lower;
  j["ci_upper"] = r.ci_upper;
  j["p"] = r.p;
  j["z"] = r.z;
  j["log_or"] = r.log_or;
  j["se"] = r.se;
  return j;
}

}  // namespace

absl::StatusOr<AssociationSpec> ParseAssociationSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string analysis, StringField(j, "analysis", where, kKind));
  if (analysis != kKind) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": analysis must be '", kKind, "'"));
  }
  AssociationSpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return absl::InvalidArgumentError(where + ": outcome is required");
  SCV_ASSIGN_OR_RETURN(s.variables, StringListField(j, "variables", where, 4096));
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(min_cell);
  SCV_ASSIGN_OR_RETURN(s.combiner, StringField(j, "combiner", where, s.combiner));
  SCV_ASSIGN_OR_RETURN(s.weighting, StringField(j, "weighting", where, s.weighting));
  SCV_ASSIGN_OR_RETURN(s.correction, StringField(j, "correction", where, s.correction));
  SCV_ASSIGN_OR_RETURN(s.alpha, NumberField(j, "alpha", where, s.alpha));
  if (s.combiner != "stouffer" && s.combiner != "fisher") {
    return absl::InvalidArgumentError(where + ": combiner must be stouffer or fisher");
  }
  if (s.weighting != "sqrt_n" && s.weighting != "n" && s.weighting != "equal") {
    return absl::InvalidArgumentError(where + ": weighting must be sqrt_n, n or equal");
  }
  if (s.correction != "bonferroni" && s.correction != "holm" && s.correction != "bh") {
    return absl::InvalidArgumentError(where + ": correction must be bonferroni, holm or bh");
  }
  if (!(s.alpha > 0 && s.alpha < 1)) return absl::InvalidArgumentError(where + ": alpha in (0, 1)");
  return s;
}

std::string ToJson(const AssociationSiteResult& r) {
  json terms = json::array();
  for (const AssociationTerm& t : r.terms) terms.push_back(TermToJson(t, /*with_names=*/true));
  return json{{"analysis", kKind},
              {"outcome", r.outcome},
              {"n_patients", r.n_patients},
              {"n_events", r.n_events},
              {"min_cell_count", r.min_cell_count},
              {"terms", terms}}
      .dump();
}

absl::StatusOr<AssociationSiteResult> ParseAssociationSiteResult(const std::string& text) {
  const std::string where = "result";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  if (!j.contains("terms") || !j.at("terms").is_array()) {
    return absl::InvalidArgumentError(where + ": not an association result (no terms)");
  }
  AssociationSiteResult r;
  SCV_ASSIGN_OR_RETURN(r.outcome, StringField(j, "outcome", where, ""));
  SCV_ASSIGN_OR_RETURN(r.n_patients, IntField(j, "n_patients", where, 0, 0, int64_t{1} << 40));
  SCV_ASSIGN_OR_RETURN(r.n_events, IntField(j, "n_events", where, 0, 0, r.n_patients));
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 100000));
  r.min_cell_count = static_cast<int>(min_cell);
  for (const json& t : j.at("terms")) {
    const std::string term = t.is_object() ? t.value("term", json()).dump() : "?";
    SCV_ASSIGN_OR_RETURN(AssociationTerm parsed,
                         ParseTerm(t, absl::StrCat(where, ", term ", term), false));
    if (parsed.term.empty()) return absl::InvalidArgumentError(where + ": a term without a name");
    if (parsed.status == "ok" && r.n_patients > 0 && parsed.n > r.n_patients) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ", term '", parsed.term, "': n exceeds n_patients"));
    }
    r.terms.push_back(std::move(parsed));
  }
  return r;
}

std::string ToJson(const AssociationTable& t) {
  json rows = json::array();
  for (const AssociationRow& r : t.rows) {
    json sites = json::object();
    for (const auto& [site, s] : r.sites) sites[site] = TermToJson(s, /*with_names=*/false);
    json row = {{"term", r.term}, {"variable", r.variable},     {"type", r.type},
                {"sites", sites}, {"sites_used", r.sites_used}, {"combined", r.combined}};
    if (r.combined) {
      row["p_combined"] = Num(r.p_combined);
      row["z_combined"] = Num(r.z_combined);
      row["p_adjusted"] = Num(r.p_adjusted);
      row["significant"] = r.significant;
      row["fixed_effect"] = {
          {"or", Num(r.fe_or)}, {"ci_lower", Num(r.fe_ci_lower)}, {"ci_upper", Num(r.fe_ci_upper)}};
      row["random_effects"] = {{"or", Num(r.re_or)},
                               {"ci_lower", Num(r.re_ci_lower)},
                               {"ci_upper", Num(r.re_ci_upper)},
                               {"i_squared", Num(r.i_squared)},
                               {"q_p", Num(r.q_p)}};
    }
    rows.push_back(row);
  }
  json counts = json::object();
  for (const auto& [site, c] : t.site_counts) {
    counts[site] = {{"patients", c.first}, {"events", c.second}};
  }
  return json{{"analysis", kKind},
              {"outcome", t.options.outcome},
              {"combiner", t.options.combiner},
              {"weighting", t.options.weighting},
              {"correction", t.options.correction},
              {"alpha", t.options.alpha},
              {"sites", t.sites},
              {"site_counts", counts},
              {"tests", t.tests},
              {"rows", rows}}
      .dump();
}

absl::StatusOr<AssociationTable> ParseAssociationTable(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rows")) {
    return absl::InvalidArgumentError("association table: not valid JSON");
  }
  try {
    AssociationTable t;
    t.options.outcome = j.at("outcome").get<std::string>();
    t.options.combiner = j.at("combiner").get<std::string>();
    t.options.weighting = j.at("weighting").get<std::string>();
    t.options.correction = j.at("correction").get<std::string>();
    t.options.alpha = j.at("alpha").get<double>();
    t.sites = j.at("sites").get<std::vector<std::string>>();
    for (const auto& [site, c] : j.at("site_counts").items()) {
      t.site_counts[site] = {c.at("patients").get<int64_t>(), c.at("events").get<int64_t>()};
    }
    t.tests = j.at("tests").get<int>();
    for (const json& r : j.at("rows")) {
      AssociationRow row{r.at("term"), r.at("variable"), r.at("type")};
      for (const auto& [site, s] : r.at("sites").items()) {
        json named = s;
        named["term"] = row.term;
        named["variable"] = row.variable;
        named["type"] = row.type;
        SCV_ASSIGN_OR_RETURN(row.sites[site], ParseTerm(named, "association table", true));
      }
      row.sites_used = r.at("sites_used").get<int>();
      row.combined = r.at("combined").get<bool>();
      if (row.combined) {
        row.p_combined = NumOrNaN(r, "p_combined");
        row.z_combined = NumOrNaN(r, "z_combined");
        row.p_adjusted = NumOrNaN(r, "p_adjusted");
        row.significant = r.at("significant");
        const json& fe = r.at("fixed_effect");
        const json& re = r.at("random_effects");
        row.fe_or = NumOrNaN(fe, "or");
        row.fe_ci_lower = NumOrNaN(fe, "ci_lower");
        row.fe_ci_upper = NumOrNaN(fe, "ci_upper");
        row.re_or = NumOrNaN(re, "or");
        row.re_ci_lower = NumOrNaN(re, "ci_lower");
        row.re_ci_upper = NumOrNaN(re, "ci_upper");
        row.i_squared = NumOrNaN(re, "i_squared");
        row.q_p = NumOrNaN(re, "q_p");
      }
      t.rows.push_back(std::move(row));
    }
    return t;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("association table: ", e.what()));
  }
}

}  // namespace scancov::wire
