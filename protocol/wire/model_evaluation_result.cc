// One model's entry (a site's answer and the combined result share it) and the combined result
// of model_evaluation (model_evaluation.h).
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"
#include "protocol/wire/model_evaluation.h"
#include "protocol/wire/model_evaluation_internal.h"

namespace scancov::wire {
namespace internal {
namespace {

using nlohmann::json;

constexpr char kKind[] = "model_evaluation";
constexpr int64_t kMaxCount = stats::kMaxRocClassSize;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::Status Bad(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

bool KnownStatus(const std::string& s) { return s == "ok" || s == "refused" || s == "failed"; }
bool KnownGroupStatus(const std::string& s) { return KnownStatus(s) || s == "withheld"; }

// At most this many figures of one entry are named as withheld.
constexpr size_t kMaxWithheld = 16;

// A number, null or absent (NaN); another type is an error.
absl::StatusOr<double> OptionalNumber(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return kNaN;
  return JsonNumber(j.at(key), where, key);
}

// The member `key` when present, else an empty object; an error when it is not an object.
absl::StatusOr<json> Object(const json& j, const char* key, const std::string& where,
                            bool required) {
  if (!j.contains(key) || j.at(key).is_null()) {
    if (required) return Bad(where, absl::StrCat(key, " is required"));
    return json::object();
  }
  if (!j.at(key).is_object()) return Bad(where, absl::StrCat(key, " must be an object"));
  return j.at(key);
}

absl::Status ReadAuc(const json& m, const std::string& where, ReadMode mode, AucEstimate* auc) {
  const bool upload = mode == ReadMode::kUpload;
  SCV_ASSIGN_OR_RETURN(const json a, Object(m, "auc", where, upload));
  SCV_ASSIGN_OR_RETURN(auc->auc, OptionalNumber(a, "auc", where + ", auc"));
  SCV_ASSIGN_OR_RETURN(auc->se, OptionalNumber(a, "se", where + ", auc"));
  SCV_ASSIGN_OR_RETURN(auc->ci_lower, OptionalNumber(a, "ci_lower", where + ", auc"));
  SCV_ASSIGN_OR_RETURN(auc->ci_upper, OptionalNumber(a, "ci_upper", where + ", auc"));
  if (upload && (!(auc->auc >= 0 && auc->auc <= 1) || !(auc->se > 0 && std::isfinite(auc->se)))) {
    return Bad(where, "auc needs an auc in [0, 1] and a finite se > 0");
  }
  return absl::OkStatus();
}

absl::Status ReadHighRisk(const json& m, const std::string& where, ReadMode mode,
                          ConfusionCounts* c) {
  const bool upload = mode == ReadMode::kUpload;
  const std::string at = where + ", high_risk";
  SCV_ASSIGN_OR_RETURN(const json h, Object(m, "high_risk", where, upload));
  SCV_ASSIGN_OR_RETURN(c->threshold, OptionalNumber(h, "threshold", at));
  if (upload && !std::isfinite(c->threshold)) return Bad(at, "threshold is required");
  for (const auto& [key, count] : {std::pair<const char*, int64_t*>{"tp", &c->tp},
                                   {"fp", &c->fp},
                                   {"tn", &c->tn},
                                   {"fn", &c->fn}}) {
    if (upload && (!h.contains(key) || h.at(key).is_null())) {
      return Bad(at, absl::StrCat(key, " is required"));
    }
    SCV_ASSIGN_OR_RETURN(*count, IntField(h, key, at, 0, 0, kMaxCount));
  }
  return absl::OkStatus();
}

absl::Status ReadRoc(const json& m, const std::string& where, ReadMode mode, ModelAnswer* out) {
  if (!m.contains("roc") || m.at("roc").is_null()) return absl::OkStatus();
  const json& r = m.at("roc");
  if (!r.is_object()) return Bad(where, "roc must be an object");
  if (mode == ReadMode::kStored && r.value("status", json()) == "failed") {
    SCV_ASSIGN_OR_RETURN(out->roc_error, StringField(r, "reason", where + ", roc", "failed"));
    return absl::OkStatus();
  }
  absl::StatusOr<stats::GridRoc> roc = stats::GridRocFromJson(r);
  if (!roc.ok()) {
    if (mode == ReadMode::kUpload) return Bad(where, std::string(roc.status().message()));
    out->roc_error = std::string(roc.status().message());
    return absl::OkStatus();
  }
  out->roc = *std::move(roc);
  SCV_ASSIGN_OR_RETURN(out->roc_auc_trapezoid, OptionalNumber(r, "auc_trapezoid", where));
  return absl::OkStatus();
}

// The group's time bin: on upload a whole number of days in 1..kMaxSurvivalBinWidth on whose
// grid every time lies, so that the aggregator can put sites with different bins on a common
// one; stored answers from before sites chose a width were counted in whole days.
absl::Status ReadBinWidth(const json& g, const std::string& at, ReadMode mode, SurvivalGroup* out) {
  const bool upload = mode == ReadMode::kUpload;
  if (upload && (!g.contains("bin_width") || g.at("bin_width").is_null())) {
    return Bad(at, "bin_width is required");
  }
  SCV_ASSIGN_OR_RETURN(out->bin_width, NumberField(g, "bin_width", at, 1.0));
  if (!(out->bin_width >= 1 && out->bin_width <= kMaxSurvivalBinWidth) ||
      out->bin_width != std::floor(out->bin_width)) {
    return Bad(
        at, absl::StrCat("bin_width must be a whole number of days in 1..", kMaxSurvivalBinWidth));
  }
  for (double t : out->counts.times) {
    if (upload && std::fmod(t, out->bin_width) != 0) {
      return Bad(at, "every time must be a multiple of bin_width");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SurvivalGroup> ReadGroup(const json& g, const std::string& where, ReadMode mode,
                                        size_t index) {
  if (!g.is_object()) return Bad(where, "a survival group must be an object");
  SurvivalGroup out;
  SCV_ASSIGN_OR_RETURN(out.group, StringField(g, "group", where, ""));
  SCV_ASSIGN_OR_RETURN(out.status, StringField(g, "status", where, ""));
  SCV_ASSIGN_OR_RETURN(out.reason, StringField(g, "reason", where, ""));
  const std::string at = absl::StrCat(where, ", group '", out.group, "'");
  if (mode == ReadMode::kUpload) {
    if (index >= kRiskGroups.size() || out.group != kRiskGroups[index]) {
      return Bad(where, "groups must be low, medium and high, in order");
    }
    if (!KnownGroupStatus(out.status)) {
      return Bad(at, "status must be ok, refused, withheld or failed");
    }
  }
  if (out.status != "ok") return out;
  if (!g.contains("counts")) return Bad(at, "counts are required");
  absl::StatusOr<stats::SurvivalCounts> counts = stats::SurvivalCountsFromJson(g.at("counts"));
  absl::Status valid = counts.ok() ? stats::ValidateSurvivalCounts(*counts) : counts.status();
  if (!valid.ok()) return Bad(at, std::string(valid.message()));
  out.counts = *std::move(counts);
  SCV_RETURN_IF_ERROR(ReadBinWidth(g, at, mode, &out));
  return out;
}

absl::Status ReadGroups(const json& m, const std::string& where, ReadMode mode, ModelAnswer* out) {
  if (!m.contains("groups") || m.at("groups").is_null()) return absl::OkStatus();
  const json& groups = m.at("groups");
  if (!groups.is_array()) return Bad(where, "groups must be a list");
  if (mode == ReadMode::kUpload && groups.size() != kRiskGroups.size()) {
    return Bad(where, "groups must be low, medium and high, in order");
  }
  for (size_t k = 0; k < groups.size(); ++k) {
    SCV_ASSIGN_OR_RETURN(SurvivalGroup g, ReadGroup(groups[k], where, mode, k));
    out->groups.push_back(std::move(g));
  }
  return absl::OkStatus();
}

json WithheldToJson(const Withheld& w) {
  json j = json::object();
  for (const auto& [figure, code] : w) j[figure] = code;
  return j;
}

absl::StatusOr<Withheld> WithheldFromJson(const json& j, const std::string& where) {
  Withheld out;
  if (!j.is_object() || !j.contains("withheld") || j.at("withheld").is_null()) return out;
  const json& w = j.at("withheld");
  if (!w.is_object() || w.size() > kMaxWithheld) {
    return Bad(where, absl::StrCat("withheld must be an object of at most ", kMaxWithheld,
                                   " figures and their reason codes"));
  }
  for (const auto& [figure, code] : w.items()) {
    if (!code.is_string() || code.get<std::string>().empty()) {
      return Bad(where, absl::StrCat("withheld ", figure, " needs a reason code"));
    }
    out[figure] = code.get<std::string>();
  }
  return out;
}

}  // namespace

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json RatesToJson(const ConfusionCounts& c) {
  auto ratio = [](int64_t a, int64_t b) { return b > 0 ? json(double(a) / b) : json(nullptr); };
  return {{"tp", c.tp},
          {"fp", c.fp},
          {"tn", c.tn},
          {"fn", c.fn},
          {"sensitivity", ratio(c.tp, c.tp + c.fn)},
          {"specificity", ratio(c.tn, c.tn + c.fp)},
          {"ppv", ratio(c.tp, c.tp + c.fp)},
          {"npv", ratio(c.tn, c.tn + c.fn)}};
}

json ModelAnswerToJson(const ModelAnswer& m, bool combined) {
  json j = {{"name", m.name}, {"kind", m.kind}, {"status", m.status}};
  if (!m.reason.empty()) j["reason"] = m.reason;
  if (!m.IsWithheld("n_not_computable")) j["n_not_computable"] = m.n_not_computable;
  if (combined) j["split"] = m.split;
  if (!m.withheld.empty()) j["withheld"] = WithheldToJson(m.withheld);
  if (m.status != "ok") return j;
  j["n"] = m.n;
  j["events"] = m.events;
  j["auc"] = {{"auc", Num(m.auc.auc)},
              {"se", Num(m.auc.se)},
              {"ci_lower", Num(m.auc.ci_lower)},
              {"ci_upper", Num(m.auc.ci_upper)}};
  const ConfusionCounts& h = m.high_risk;
  if (!m.IsWithheld("high_risk")) {
    j["high_risk"] =
        combined ? RatesToJson(h) : json{{"tp", h.tp}, {"fp", h.fp}, {"tn", h.tn}, {"fn", h.fn}};
    j["high_risk"]["threshold"] = Num(h.threshold);
  }
  if (!m.roc_error.empty()) {
    j["roc"] = {{"status", "failed"}, {"reason", m.roc_error}};
  } else if (m.roc.has_value()) {
    j["roc"] = stats::ToJson(*m.roc);
    if (combined && std::isfinite(m.roc_auc_trapezoid)) {
      j["roc"]["auc_trapezoid"] = m.roc_auc_trapezoid;
    }
  }
  if (!m.groups.empty()) {
    json groups = json::array();
    for (const SurvivalGroup& g : m.groups) {
      json e = {{"group", g.group}, {"status", g.status}};
      if (!g.reason.empty()) e["reason"] = g.reason;
      if (g.status == "ok") {
        e["bin_width"] = g.bin_width;
        e["counts"] = stats::ToJson(g.counts);
      }
      groups.push_back(std::move(e));
    }
    j["groups"] = groups;
  }
  return j;
}

absl::StatusOr<ModelAnswer> ModelAnswerFromJson(const json& j, ReadMode mode) {
  // A site's answer names each model; an entry of the combined result is under its model.
  const bool needs_name = mode == ReadMode::kUpload;
  if (!j.is_object() || (needs_name && !j.contains("name")) ||
      (j.contains("name") && !j.at("name").is_string()) || !j.contains("status") ||
      !j.at("status").is_string()) {
    return absl::InvalidArgumentError("a model entry needs a string 'name' and 'status'");
  }
  ModelAnswer m;
  m.name = j.value("name", std::string());
  m.status = j.at("status").get<std::string>();
  const std::string where = absl::StrCat("model '", m.name, "'");
  if (mode == ReadMode::kUpload && !KnownStatus(m.status)) {
    return Bad(where, "status must be ok, refused or failed");
  }
  SCV_ASSIGN_OR_RETURN(m.kind, StringField(j, "kind", where, ""));
  SCV_ASSIGN_OR_RETURN(m.reason, StringField(j, "reason", where, ""));
  SCV_ASSIGN_OR_RETURN(m.split, StringField(j, "split", where, ""));
  SCV_ASSIGN_OR_RETURN(m.withheld, WithheldFromJson(j, where));
  SCV_ASSIGN_OR_RETURN(m.n_not_computable, IntField(j, "n_not_computable", where, 0, 0, kMaxCount));
  if (m.status != "ok") return m;
  SCV_ASSIGN_OR_RETURN(m.n, IntField(j, "n", where, 0, 0, 2 * kMaxCount));
  SCV_ASSIGN_OR_RETURN(m.events, IntField(j, "events", where, 0, 0, m.n));
  SCV_RETURN_IF_ERROR(ReadAuc(j, where, mode, &m.auc));
  if (!m.IsWithheld("high_risk")) {
    SCV_RETURN_IF_ERROR(ReadHighRisk(j, where, mode, &m.high_risk));
  }
  m.roc_auc_trapezoid = kNaN;
  SCV_RETURN_IF_ERROR(ReadRoc(j, where, mode, &m));
  SCV_RETURN_IF_ERROR(ReadGroups(j, where, mode, &m));
  return m;
}

json ComparisonToJson(const AucComparisonAnswer& c) {
  json j = {{"a", c.a}, {"b", c.b}};
  if (!c.withheld.count("n")) j["n"] = c.n;
  j["status"] = c.status;
  if (!c.reason.empty()) j["reason"] = c.reason;
  if (!c.withheld.empty()) j["withheld"] = WithheldToJson(c.withheld);
  if (c.status == "ok") {
    j.update({{"auc_a", c.auc_a},
              {"auc_b", c.auc_b},
              {"difference", c.difference},
              {"z", c.z},
              {"p", c.p}});
  }
  return j;
}

absl::StatusOr<std::vector<AucComparisonAnswer>> ComparisonsFromJson(const json& j,
                                                                     const std::string& where) {
  std::vector<AucComparisonAnswer> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Bad(where, "comparisons must be a list");
  for (const json& e : j) {
    if (!e.is_object()) return Bad(where, "a comparison must be an object");
    AucComparisonAnswer c;
    SCV_ASSIGN_OR_RETURN(c.a, StringField(e, "a", where + ", comparison", ""));
    SCV_ASSIGN_OR_RETURN(c.b, StringField(e, "b", where + ", comparison", ""));
    const std::string at = absl::StrCat(where, ", comparison '", c.a, "' vs '", c.b, "'");
    SCV_ASSIGN_OR_RETURN(c.withheld, WithheldFromJson(e, at));
    SCV_ASSIGN_OR_RETURN(c.n, IntField(e, "n", at, 0, 0, 2 * kMaxCount));
    SCV_ASSIGN_OR_RETURN(c.status, StringField(e, "status", at, ""));
    SCV_ASSIGN_OR_RETURN(c.reason, StringField(e, "reason", at, ""));
    if (!KnownStatus(c.status)) return Bad(at, "status must be ok, refused or failed");
    if (c.status == "ok") {
      SCV_ASSIGN_OR_RETURN(c.auc_a, NumberField(e, "auc_a", at, kNaN));
      SCV_ASSIGN_OR_RETURN(c.auc_b, NumberField(e, "auc_b", at, kNaN));
      SCV_ASSIGN_OR_RETURN(c.difference, NumberField(e, "difference", at, kNaN));
      SCV_ASSIGN_OR_RETURN(c.z, NumberField(e, "z", at, kNaN));
      SCV_ASSIGN_OR_RETURN(c.p, NumberField(e, "p", at, kNaN));
      if (!(c.p >= 0 && c.p <= 1) || !std::isfinite(c.auc_a + c.auc_b + c.difference + c.z)) {
        return Bad(at, "auc_a, auc_b, difference and z must be finite numbers, p in [0, 1]");
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace internal

namespace {

using internal::Num;
using nlohmann::json;

json PooledToJson(const PooledEvaluation& p) {
  json j = {{"sites_used", p.sites_used}};
  if (p.has_auc) {
    j["auc"] = {{"auc", Num(p.auc.auc)},
                {"ci_lower", Num(p.auc.ci_lower)},
                {"ci_upper", Num(p.auc.ci_upper)},
                {"i_squared", Num(p.i_squared)}};
    j["high_risk"] = internal::RatesToJson(p.high_risk);
    j["high_risk"]["sites"] = p.high_risk_sites;
  }
  if (p.has_roc && !p.roc_error.empty()) {
    j["roc"] = {{"status", "failed"}, {"reason", p.roc_error}};
  } else if (p.has_roc) {
    j["roc"] = stats::ToJson(p.roc);
    j["roc"].update(
        {{"status", "ok"}, {"sites", p.roc_sites}, {"auc_trapezoid", Num(p.roc_auc_trapezoid)}});
  }
  if (p.has_survival) {
    j["log_rank"] = {{"chi_square", Num(p.chi_square)},
                     {"df", Num(p.df)},
                     {"p", Num(p.log_rank_p)},
                     {"sites", p.log_rank_sites}};
    json km = json::object();
    for (size_t g = 0; g < kRiskGroups.size(); ++g) {
      json points = json::array();
      for (const auto& [t, s] : p.kaplan_meier[g].points) points.push_back({t, s});
      km[kRiskGroups[g]] = {{"n", p.kaplan_meier[g].n}, {"points", points}};
    }
    j["kaplan_meier"] = km;
    j["survival_bin_width"] = p.survival_bin_width;
  }
  if (!p.survival_error.empty()) j["survival_error"] = p.survival_error;
  return j;
}

absl::StatusOr<KaplanMeierGroup> KmFromJson(const json& km, const char* group) {
  const std::string where = absl::StrCat("kaplan_meier, group ", group);
  if (!km.contains(group) || !km.at(group).is_object()) return internal::Bad(where, "missing");
  const json& g = km.at(group);
  KaplanMeierGroup out;
  SCV_ASSIGN_OR_RETURN(out.n, IntField(g, "n", where, 0, 0, int64_t{1} << 50));
  if (!g.contains("points") || !g.at("points").is_array()) {
    return internal::Bad(where, "points must be a list");
  }
  for (const json& p : g.at("points")) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
      return internal::Bad(where, "a point must be [time, survival]");
    }
    out.points.push_back({p[0].get<double>(), p[1].get<double>()});
  }
  return out;
}

absl::StatusOr<PooledEvaluation> PooledFromJson(const json& j, const std::string& where) {
  PooledEvaluation p;
  if (!j.is_object()) return internal::Bad(where, "pooled must be an object");
  SCV_ASSIGN_OR_RETURN(const int64_t used, IntField(j, "sites_used", where, 0, 0, 1 << 20));
  p.sites_used = static_cast<int>(used);
  p.has_auc = j.contains("auc") && !j.at("auc").is_null();
  if (p.has_auc) {
    SCV_RETURN_IF_ERROR(internal::ReadAuc(j, where, ReadMode::kStored, &p.auc));
    SCV_ASSIGN_OR_RETURN(p.i_squared, internal::OptionalNumber(j.at("auc"), "i_squared", where));
    SCV_RETURN_IF_ERROR(internal::ReadHighRisk(j, where, ReadMode::kStored, &p.high_risk));
    // Results from before sites could withhold it summed every site's counts.
    SCV_ASSIGN_OR_RETURN(const json h, internal::Object(j, "high_risk", where, false));
    SCV_ASSIGN_OR_RETURN(const int64_t sites,
                         IntField(h, "sites", where + ", high_risk", used, 0, 1 << 20));
    p.high_risk_sites = static_cast<int>(sites);
  }
  p.has_roc = j.contains("roc") && !j.at("roc").is_null();
  if (p.has_roc) {
    ModelAnswer roc;
    SCV_RETURN_IF_ERROR(internal::ReadRoc(j, where, ReadMode::kStored, &roc));
    p.roc_error = roc.roc_error;
    if (roc.roc.has_value()) p.roc = *roc.roc;
    p.roc_auc_trapezoid = roc.roc_auc_trapezoid;
    SCV_ASSIGN_OR_RETURN(const int64_t sites,
                         IntField(j.at("roc"), "sites", where + ", roc", 0, 0, 1 << 20));
    p.roc_sites = static_cast<int>(sites);
  }
  p.has_survival = j.contains("log_rank") && !j.at("log_rank").is_null();
  if (p.has_survival) {
    SCV_ASSIGN_OR_RETURN(const json lr, internal::Object(j, "log_rank", where, true));
    SCV_ASSIGN_OR_RETURN(p.chi_square, internal::OptionalNumber(lr, "chi_square", where));
    SCV_ASSIGN_OR_RETURN(p.df, internal::OptionalNumber(lr, "df", where));
    SCV_ASSIGN_OR_RETURN(p.log_rank_p, internal::OptionalNumber(lr, "p", where));
    SCV_ASSIGN_OR_RETURN(const int64_t sites, IntField(lr, "sites", where, 0, 0, 1 << 20));
    p.log_rank_sites = static_cast<int>(sites);
    SCV_ASSIGN_OR_RETURN(const json km, internal::Object(j, "kaplan_meier", where, true));
    for (size_t g = 0; g < kRiskGroups.size(); ++g) {
      SCV_ASSIGN_OR_RETURN(p.kaplan_meier[g], KmFromJson(km, kRiskGroups[g]));
    }
    SCV_ASSIGN_OR_RETURN(p.survival_bin_width, NumberField(j, "survival_bin_width", where, 1.0));
  }
  SCV_ASSIGN_OR_RETURN(p.survival_error, StringField(j, "survival_error", where, ""));
  return p;
}

absl::StatusOr<EvaluationModelResult> ModelResultFromJson(const json& m) {
  if (!m.is_object()) return internal::Bad("result", "a model must be an object");
  EvaluationModelResult out;
  SCV_ASSIGN_OR_RETURN(out.name, StringField(m, "name", "result, model", ""));
  const std::string where = absl::StrCat("result, model '", out.name, "'");
  SCV_ASSIGN_OR_RETURN(const json sites, internal::Object(m, "sites", where, false));
  for (const auto& [site, entry] : sites.items()) {
    absl::StatusOr<ModelAnswer> answer = internal::ModelAnswerFromJson(entry, ReadMode::kStored);
    if (!answer.ok()) {
      return internal::Bad(absl::StrCat(where, ", site ", site),
                           std::string(answer.status().message()));
    }
    out.sites[site] = *std::move(answer);
  }
  SCV_ASSIGN_OR_RETURN(const json pooled, internal::Object(m, "pooled", where, false));
  SCV_ASSIGN_OR_RETURN(out.pooled, PooledFromJson(pooled, where + ", pooled"));
  return out;
}

}  // namespace

std::string ToJson(const EvaluationResult& r) {
  json models = json::array();
  for (const EvaluationModelResult& m : r.models) {
    json sites = json::object();
    for (const auto& [site, answer] : m.sites) {
      sites[site] = internal::ModelAnswerToJson(answer, /*combined=*/true);
    }
    models.push_back({{"name", m.name}, {"sites", sites}, {"pooled", PooledToJson(m.pooled)}});
  }
  json comparisons = json::object();
  for (const auto& [site, list] : r.comparisons) {
    json entries = json::array();
    for (const AucComparisonAnswer& c : list) entries.push_back(internal::ComparisonToJson(c));
    comparisons[site] = entries;
  }
  return json{{"analysis", internal::kKind},
              {"outcome", r.outcome},
              {"sites", r.sites},
              {"models", models},
              {"comparisons", comparisons}}
      .dump();
}

absl::StatusOr<EvaluationResult> ParseEvaluationResult(const std::string& text) {
  const std::string where = "result";
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j.at("models").is_array()) {
    return internal::Bad(where, "not a model evaluation result");
  }
  EvaluationResult r;
  SCV_ASSIGN_OR_RETURN(r.outcome, StringField(j, "outcome", where, ""));
  SCV_ASSIGN_OR_RETURN(r.sites, StringListField(j, "sites", where, 100000));
  for (const json& m : j.at("models")) {
    SCV_ASSIGN_OR_RETURN(EvaluationModelResult model, ModelResultFromJson(m));
    r.models.push_back(std::move(model));
  }
  SCV_ASSIGN_OR_RETURN(const json comparisons, internal::Object(j, "comparisons", where, false));
  for (const auto& [site, list] : comparisons.items()) {
    SCV_ASSIGN_OR_RETURN(r.comparisons[site],
                         internal::ComparisonsFromJson(list, absl::StrCat(where, ", site ", site)));
  }
  return r;
}

}  // namespace scancov::wire
