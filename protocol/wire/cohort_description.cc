#include "protocol/wire/cohort_description.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "cohort_description";

bool KnownType(const std::string& t) {
  return t == "continuous" || t == "binary" || t == "ordinal" || t == "categorical";
}

json LevelsToJson(const std::map<int, int64_t>& levels) {
  json j = json::object();
  for (const auto& [level, count] : levels) {
    j[std::to_string(level)] = count < 0 ? json(nullptr) : json(count);
  }
  return j;
}

absl::StatusOr<std::map<int, int64_t>> LevelsFromJson(const json& j, const std::string& where,
                                                      int64_t n) {
  std::map<int, int64_t> levels;
  if (!j.is_object() || j.size() > 1000) {
    return absl::InvalidArgumentError(where + ": levels must be an object of counts");
  }
  for (const auto& [key, value] : j.items()) {
    int level = 0;
    try {
      size_t used = 0;
      level = std::stoi(key, &used);
      if (used != key.size()) throw std::invalid_argument(key);
    } catch (const std::exception&) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": level '", key, "' is not an integer"));
    }
    if (value.is_null()) {
      levels[level] = -1;
      continue;
    }
    SCV_ASSIGN_OR_RETURN(levels[level], JsonIntIn(value, where, "a level's count", 0, n));
  }
  return levels;
}

json Finite(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double NumberOr(const json& j, const char* key, double fallback) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : fallback;
}

json VariableToJson(const CohortVariable& v) {
  json j = {{"variable", v.variable}, {"type", v.type}, {"status", v.status}};
  if (v.status != "ok") {
    j["reason"] = v.reason;
    return j;
  }
  j["n"] = v.n;
  j["missing"] = v.missing;
  if (v.IsContinuous()) {
    j["sum"] = v.sum;
    j["sum_sq"] = v.sum_sq;
  } else {
    j["levels"] = LevelsToJson(v.levels);
  }
  return j;
}

absl::StatusOr<CohortVariable> VariableFromJson(const json& j, int64_t n_patients) {
  if (!j.is_object()) return absl::InvalidArgumentError("variables: an entry is not an object");
  CohortVariable v;
  SCV_ASSIGN_OR_RETURN(v.variable, StringField(j, "variable", "variables", ""));
  const std::string where = absl::StrCat("variable '", v.variable, "'");
  if (v.variable.empty()) return absl::InvalidArgumentError("variables: an entry has no name");
  SCV_ASSIGN_OR_RETURN(v.type, StringField(j, "type", where, ""));
  SCV_ASSIGN_OR_RETURN(v.status, StringField(j, "status", where, ""));
  SCV_ASSIGN_OR_RETURN(v.reason, StringField(j, "reason", where, ""));
  if (v.status != "ok") {
    if (v.status != "suppressed" && v.status != "refused" && v.status != "failed") {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown status '", v.status, "'"));
    }
    return v;
  }
  if (!KnownType(v.type)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown type '", v.type, "'"));
  }
  SCV_ASSIGN_OR_RETURN(v.n, IntField(j, "n", where, -1, 0, n_patients));
  SCV_ASSIGN_OR_RETURN(v.missing, IntField(j, "missing", where, -1, 0, n_patients));
  if (v.n + v.missing != n_patients) {
    return absl::InvalidArgumentError(where + ": n + missing differs from n_patients");
  }
  if (v.IsContinuous()) {
    SCV_ASSIGN_OR_RETURN(v.sum, NumberField(j, "sum", where, NAN));
    SCV_ASSIGN_OR_RETURN(v.sum_sq, NumberField(j, "sum_sq", where, NAN));
    if (!std::isfinite(v.sum) || !std::isfinite(v.sum_sq) || v.n == 0) {
      return absl::InvalidArgumentError(where + ": sum and sum_sq of n > 0 values are required");
    }
    // Cauchy-Schwarz: n * sum_sq >= sum^2 (within rounding).
    if (v.sum_sq < 0 || v.n * v.sum_sq < v.sum * v.sum * (1 - 1e-9) - 1e-9) {
      return absl::InvalidArgumentError(where + ": sum_sq is smaller than sum^2 / n");
    }
    return v;
  }
  if (!j.contains("levels")) return absl::InvalidArgumentError(where + ": levels are required");
  SCV_ASSIGN_OR_RETURN(v.levels, LevelsFromJson(j.at("levels"), where, v.n));
  int64_t released = 0;
  for (const auto& [level, count] : v.levels) released += std::max<int64_t>(count, 0);
  if (released > v.n) return absl::InvalidArgumentError(where + ": level counts exceed n");
  return v;
}

json SummaryToJson(const CohortSummary& s) {
  json j = {{"status", s.status}};
  if (s.status != "ok") {
    j["reason"] = s.reason;
    return j;
  }
  j["n"] = s.n;
  j["missing"] = s.missing;
  j["mean"] = Finite(s.mean);
  j["sd"] = Finite(s.sd);
  if (!s.levels.empty()) j["levels"] = LevelsToJson(s.levels);
  if (!s.quartiles.empty()) {
    json q = json::array();
    for (double v : s.quartiles) q.push_back(Finite(v));
    j["quartiles"] = q;
  }
  return j;
}

CohortSummary SummaryFromJson(const json& j) {
  CohortSummary s;
  s.status = j.at("status").get<std::string>();
  s.reason = j.value("reason", std::string());
  if (s.status != "ok") return s;
  s.n = j.at("n").get<int64_t>();
  s.missing = j.at("missing").get<int64_t>();
  s.mean = NumberOr(j, "mean", NAN);
  s.sd = NumberOr(j, "sd", NAN);
  if (j.contains("levels")) {
    for (const auto& [key, value] : j.at("levels").items()) {
      s.levels[std::stoi(key)] = value.is_null() ? -1 : value.get<int64_t>();
    }
  }
  if (j.contains("quartiles")) {
    for (const json& q : j.at("quartiles"))
      s.quartiles.push_back(q.is_null() ? NAN : q.get<double>());
  }
  return s;
}

}  // namespace

absl::StatusOr<CohortSpec> ParseCohortSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string analysis, StringField(j, "analysis", where, kKind));
  if (analysis != kKind) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": analysis must be '", kKind, "'"));
  }
  CohortSpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) {
    return absl::InvalidArgumentError(
        where + ": outcome is required (the cohort is the patients whose outcome is known)");
  }
  SCV_ASSIGN_OR_RETURN(s.variables, StringListField(j, "variables", where, kMaxCohortVariables));
  if (s.variables.empty()) return absl::InvalidArgumentError(where + ": variables are required");
  std::set<std::string> seen;
  for (const std::string& v : s.variables) {
    if (v.empty() || !seen.insert(v).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": variable '", v, "' named twice"));
    }
  }
  SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(j, "min_cell_count", where, 0, 0, 100000));
  s.min_cell_count = static_cast<int>(k);
  SCV_ASSIGN_OR_RETURN(s.quantiles, BoolField(j, "quantiles", where, true));
  return s;
}

std::string ToJson(const CohortSiteMoments& m) {
  json variables = json::array();
  for (const CohortVariable& v : m.variables) variables.push_back(VariableToJson(v));
  return json{{"analysis", kKind},
              {"phase", "moments"},
              {"n_patients", m.n_patients},
              {"n_events", m.n_events < 0 ? json(nullptr) : json(m.n_events)},
              {"min_cell_count", m.min_cell_count},
              {"variables", variables}}
      .dump();
}

absl::StatusOr<CohortSiteMoments> ParseCohortSiteMoments(const std::string& text) {
  const std::string where = "moments";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  SCV_ASSIGN_OR_RETURN(const std::string phase, StringField(j, "phase", where, ""));
  if (phase != "moments") return absl::InvalidArgumentError(where + ": phase must be 'moments'");
  CohortSiteMoments m;
  SCV_ASSIGN_OR_RETURN(m.n_patients, IntField(j, "n_patients", where, -1, 0, kMaxCohortSiteRows));
  SCV_ASSIGN_OR_RETURN(m.n_events, IntField(j, "n_events", where, -1, 0, m.n_patients));
  SCV_ASSIGN_OR_RETURN(const int64_t k, IntField(j, "min_cell_count", where, 0, 0, 100000));
  m.min_cell_count = static_cast<int>(k);
  if (!j.contains("variables") || !j.at("variables").is_array() ||
      j.at("variables").size() > kMaxCohortVariables) {
    return absl::InvalidArgumentError(where + ": variables must be a list");
  }
  for (const json& v : j.at("variables")) {
    SCV_ASSIGN_OR_RETURN(CohortVariable parsed, VariableFromJson(v, m.n_patients));
    m.variables.push_back(std::move(parsed));
  }
  return m;
}

protocol::TensorSet CandidatesToTensors(const CohortCandidates& candidates) {
  protocol::TensorSet set;
  for (const auto& [variable, values] : candidates) {
    absl::Status added = set.Add(protocol::FromDoubles(
        absl::StrCat(kCohortCandidatesPrefix, variable), {static_cast<int64_t>(values.size())},
        protocol::DType::kFloat64, values));
    (void)added;  // names are distinct: one tensor per map key
  }
  return set;
}

absl::StatusOr<CohortCandidates> CandidatesFromTensors(const protocol::TensorSet& tensors) {
  CohortCandidates out;
  if (tensors.tensors().size() > kMaxCohortVariables) {
    return absl::InvalidArgumentError("checkpoint: too many candidate tensors");
  }
  const std::string prefix = kCohortCandidatesPrefix;
  for (const protocol::Tensor& t : tensors.tensors()) {
    const std::string where = absl::StrCat("checkpoint tensor '", t.name, "'");
    if (t.name.rfind(prefix, 0) != 0 || t.name.size() == prefix.size()) {
      return absl::InvalidArgumentError(where + ": not a candidates tensor");
    }
    if (t.dtype != protocol::DType::kFloat64 || t.shape.size() != 1 || t.shape[0] < 1 ||
        t.shape[0] > static_cast<int64_t>(kMaxCohortCandidates)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": must be float64 [K], K in 1..", kMaxCohortCandidates));
    }
    const std::vector<double> values = protocol::ToDoubles(t);
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i]) || (i > 0 && !(values[i] > values[i - 1]))) {
        return absl::InvalidArgumentError(where + ": candidates must be finite and increasing");
      }
    }
    out[t.name.substr(prefix.size())] = values;
  }
  return out;
}

std::string CountsToJson(const CohortCounts& counts, const CohortCandidates& asked) {
  json c = json::object();
  for (const auto& [variable, candidates] : asked) {
    auto it = counts.find(variable);
    c[variable] = it == counts.end() ? json(nullptr) : json(it->second);
  }
  return json{{"analysis", kKind}, {"phase", "quantiles"}, {"counts", c}}.dump();
}

absl::StatusOr<CohortCounts> ParseCohortCounts(const std::string& text,
                                               const CohortCandidates& asked) {
  const std::string where = "quantile counts";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  if (!j.contains("counts") || !j.at("counts").is_object()) {
    return absl::InvalidArgumentError(where + ": counts must be an object");
  }
  const json& c = j.at("counts");
  if (c.size() != asked.size()) {
    return absl::InvalidArgumentError(where + ": not every variable asked is answered");
  }
  CohortCounts out;
  for (const auto& [variable, candidates] : asked) {
    const std::string at = absl::StrCat(where, ", variable '", variable, "'");
    if (c.contains(variable) && c.at(variable).is_null()) continue;  // not released here
    if (!c.contains(variable) || !c.at(variable).is_array() ||
        c.at(variable).size() != candidates.size()) {
      return absl::InvalidArgumentError(at + ": one count per candidate is required");
    }
    std::vector<int64_t> counts;
    for (const json& v : c.at(variable)) {
      SCV_ASSIGN_OR_RETURN(int64_t n, JsonIntIn(v, at, "a count", 0, kMaxCohortSiteRows));
      if (!counts.empty() && n < counts.back()) {
        return absl::InvalidArgumentError(at + ": counts must not decrease");
      }
      counts.push_back(n);
    }
    out[variable] = std::move(counts);
  }
  return out;
}

std::string ToJson(const CohortTable& t) {
  json rows = json::array();
  for (const CohortRow& r : t.rows) {
    json sites = json::object();
    for (const auto& [site, s] : r.sites) sites[site] = SummaryToJson(s);
    rows.push_back({{"variable", r.variable},
                    {"type", r.type},
                    {"sites", sites},
                    {"pooled", SummaryToJson(r.pooled)},
                    {"pooled_sites", r.pooled_sites}});
  }
  json events = json::object();
  for (const auto& [site, e] : t.site_events) events[site] = e < 0 ? json(nullptr) : json(e);
  return json{{"analysis", kKind},
              {"outcome", t.outcome},
              {"min_cell_count", t.min_cell_count},
              {"sites", t.sites},
              {"site_patients", t.site_patients},
              {"site_events", events},
              {"pooled_patients", t.pooled_patients},
              {"quantile_rounds", t.quantile_rounds},
              {"quantile_error", t.quantile_error},
              {"rows", rows}}
      .dump();
}

absl::StatusOr<CohortTable> ParseCohortTable(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rows")) {
    return absl::InvalidArgumentError("cohort table: not valid JSON");
  }
  try {
    CohortTable t;
    t.outcome = j.at("outcome").get<std::string>();
    t.min_cell_count = j.at("min_cell_count").get<int>();
    t.sites = j.at("sites").get<std::vector<std::string>>();
    t.site_patients = j.at("site_patients").get<std::map<std::string, int64_t>>();
    for (const auto& [site, e] : j.at("site_events").items()) {
      t.site_events[site] = e.is_null() ? -1 : e.get<int64_t>();
    }
    t.pooled_patients = j.at("pooled_patients").get<int64_t>();
    t.quantile_rounds = j.at("quantile_rounds").get<int>();
    t.quantile_error = j.value("quantile_error", std::string());
    for (const json& r : j.at("rows")) {
      CohortRow row;
      row.variable = r.at("variable").get<std::string>();
      row.type = r.at("type").get<std::string>();
      for (const auto& [site, s] : r.at("sites").items()) row.sites[site] = SummaryFromJson(s);
      row.pooled = SummaryFromJson(r.at("pooled"));
      row.pooled_sites = r.at("pooled_sites").get<std::vector<std::string>>();
      t.rows.push_back(std::move(row));
    }
    return t;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cohort table: ", e.what()));
  }
}

}  // namespace scancov::wire
