#include "aggregator/association_table.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/meta_analysis.h"
#include "models/stats/multiple_testing.h"
#include "models/stats/pvalue_combination.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;

// json::value deduces its result type from the default: this must be a double, not NAN's float.
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// JSON has no NaN: undefined statistics (e.g. Q's p with one site) travel as null.
json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double GetNum(const json& j, const char* key) {
  const json& v = j.at(key);
  return v.is_null() ? kNaN : v.get<double>();
}

absl::StatusOr<SiteTermResult> ParseSiteTerm(const json& t, const std::string& where) {
  SiteTermResult r;
  r.status = t.value("status", std::string());
  r.reason = t.value("reason", std::string());
  if (r.status != "ok") {
    if (r.status != "refused" && r.status != "failed") {
      return absl::InvalidArgumentError(where + ": unknown status '" + r.status + "'");
    }
    return r;
  }
  r.n = t.value("n", int64_t{0});
  r.events = t.value("events", int64_t{0});
  r.odds_ratio = t.value("or", kNaN);
  r.ci_lower = t.value("ci_lower", kNaN);
  r.ci_upper = t.value("ci_upper", kNaN);
  r.p = t.value("p", kNaN);
  r.z = t.value("z", kNaN);
  r.log_or = t.value("log_or", kNaN);
  r.se = t.value("se", kNaN);
  for (double v : {r.odds_ratio, r.ci_lower, r.ci_upper, r.p, r.z, r.log_or, r.se}) {
    if (!std::isfinite(v))
      return absl::InvalidArgumentError(where + ": missing or non-finite value");
  }
  if (!(r.p > 0 && r.p <= 1) || r.n <= 0 || !(r.se > 0)) {
    return absl::InvalidArgumentError(where + ": p, n or se out of range");
  }
  return r;
}

absl::Status CombineRow(const AnalysisOptions& options, AssociationRow& row) {
  std::vector<stats::SiteTest> tests;
  std::vector<double> log_ors, ses;
  for (const auto& [site, r] : row.sites) {
    if (r.status != "ok") continue;
    tests.push_back({r.p, r.log_or, static_cast<double>(r.n)});
    log_ors.push_back(r.log_or);
    ses.push_back(r.se);
  }
  row.sites_used = static_cast<int>(tests.size());
  if (tests.empty()) return absl::OkStatus();
  std::unique_ptr<stats::PValueCombiner> combiner;
  if (options.combiner == "fisher") {
    combiner = std::make_unique<stats::FisherCombiner>();
  } else {
    const stats::StoufferWeighting w =
        options.weighting == "n"       ? stats::StoufferWeighting::kSampleSize
        : options.weighting == "equal" ? stats::StoufferWeighting::kEqual
                                       : stats::StoufferWeighting::kSqrtSampleSize;
    combiner = std::make_unique<stats::StoufferCombiner>(w);
  }
  SCV_ASSIGN_OR_RETURN(stats::CombinedTest combined, combiner->Combine(tests));
  row.combined = true;
  row.p_combined = combined.p_value;
  row.z_combined = combined.statistic;
  SCV_ASSIGN_OR_RETURN(stats::MetaAnalysis meta, stats::MetaAnalyze(log_ors, ses));
  row.fe_or = std::exp(meta.fixed_effect.estimate);
  row.fe_ci_lower = std::exp(meta.fixed_effect.ci_lower);
  row.fe_ci_upper = std::exp(meta.fixed_effect.ci_upper);
  row.re_or = std::exp(meta.random_effects.estimate);
  row.re_ci_lower = std::exp(meta.random_effects.ci_lower);
  row.re_ci_upper = std::exp(meta.random_effects.ci_upper);
  row.i_squared = meta.i_squared;
  row.q_p = meta.q_p_value;
  return absl::OkStatus();
}

json SiteToJson(const SiteTermResult& r) {
  if (r.status != "ok") return {{"status", r.status}, {"reason", r.reason}};
  return {{"status", "ok"},
          {"n", r.n},
          {"events", r.events},
          {"or", r.odds_ratio},
          {"ci_lower", r.ci_lower},
          {"ci_upper", r.ci_upper},
          {"p", r.p},
          {"z", r.z},
          {"log_or", r.log_or},
          {"se", r.se}};
}

}  // namespace

absl::StatusOr<AnalysisOptions> ParseAnalysisOptions(const std::string& spec_json) {
  const json j = json::parse(spec_json.empty() ? "{}" : spec_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("spec_json: not a JSON object");
  }
  if (j.value("analysis", std::string()) != "univariate_association") {
    return absl::InvalidArgumentError("spec_json: analysis must be 'univariate_association'");
  }
  AnalysisOptions o;
  o.outcome = j.value("outcome", std::string());
  o.combiner = j.value("combiner", o.combiner);
  o.weighting = j.value("weighting", o.weighting);
  o.correction = j.value("correction", o.correction);
  o.alpha = j.value("alpha", o.alpha);
  if (o.outcome.empty()) return absl::InvalidArgumentError("spec_json: outcome is required");
  if (o.combiner != "stouffer" && o.combiner != "fisher") {
    return absl::InvalidArgumentError("spec_json: combiner must be stouffer or fisher");
  }
  if (o.weighting != "sqrt_n" && o.weighting != "n" && o.weighting != "equal") {
    return absl::InvalidArgumentError("spec_json: weighting must be sqrt_n, n or equal");
  }
  if (o.correction != "bonferroni" && o.correction != "holm" && o.correction != "bh") {
    return absl::InvalidArgumentError("spec_json: correction must be bonferroni, holm or bh");
  }
  if (!(o.alpha > 0 && o.alpha < 1))
    return absl::InvalidArgumentError("spec_json: alpha in (0, 1)");
  return o;
}

absl::StatusOr<AssociationTable> CombineAssociations(
    const std::vector<std::pair<std::string, std::string>>& site_results,
    const AnalysisOptions& options) {
  AssociationTable table;
  table.options = options;
  std::map<std::string, size_t> index;
  for (const auto& [site, text] : site_results) {
    const std::string where = absl::StrCat("site '", site, "' result");
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("terms") || !j.at("terms").is_array()) {
      return absl::InvalidArgumentError(where + ": not an association result");
    }
    table.sites.push_back(site);
    table.site_counts[site] = {j.value("n_patients", int64_t{0}), j.value("n_events", int64_t{0})};
    for (const json& t : j.at("terms")) {
      const std::string term = t.value("term", std::string());
      if (term.empty()) return absl::InvalidArgumentError(where + ": a term without a name");
      SCV_ASSIGN_OR_RETURN(SiteTermResult r,
                           ParseSiteTerm(t, absl::StrCat(where, ", term '", term, "'")));
      auto [it, added] = index.emplace(term, table.rows.size());
      if (added) {
        table.rows.push_back({term, t.value("variable", term), t.value("type", std::string())});
      }
      table.rows[it->second].sites[site] = r;
    }
  }
  std::vector<double> ps;
  for (AssociationRow& row : table.rows) {
    for (const std::string& site : table.sites) {
      if (!row.sites.count(site)) row.sites[site] = {"absent", "not reported by the site"};
    }
    SCV_RETURN_IF_ERROR(Annotate(CombineRow(options, row), absl::StrCat("term '", row.term, "'")));
    if (row.combined) ps.push_back(row.p_combined);
  }
  table.tests = static_cast<int>(ps.size());
  if (ps.empty()) return table;
  const stats::Adjustment method = options.correction == "holm" ? stats::Adjustment::kHolm
                                   : options.correction == "bh"
                                       ? stats::Adjustment::kBenjaminiHochberg
                                       : stats::Adjustment::kBonferroni;
  SCV_ASSIGN_OR_RETURN(std::vector<double> adjusted, stats::AdjustPValues(ps, method));
  size_t k = 0;
  for (AssociationRow& row : table.rows) {
    if (!row.combined) continue;
    row.p_adjusted = adjusted[k++];
    row.significant = row.p_adjusted < options.alpha;
  }
  return table;
}

std::string AssociationTableToJson(const AssociationTable& t) {
  json rows = json::array();
  for (const AssociationRow& r : t.rows) {
    json sites = json::object();
    for (const auto& [site, s] : r.sites) sites[site] = SiteToJson(s);
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
  for (const auto& [site, c] : t.site_counts)
    counts[site] = {{"patients", c.first}, {"events", c.second}};
  return json{{"analysis", "univariate_association"},
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

absl::StatusOr<AssociationTable> AssociationTableFromJson(const std::string& text) {
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
        if (s.at("status") == "absent") {
          row.sites[site] = {"absent", s.value("reason", std::string())};
          continue;
        }
        SCV_ASSIGN_OR_RETURN(row.sites[site], ParseSiteTerm(s, "association table"));
      }
      row.sites_used = r.at("sites_used").get<int>();
      row.combined = r.at("combined").get<bool>();
      if (row.combined) {
        row.p_combined = GetNum(r, "p_combined");
        row.z_combined = GetNum(r, "z_combined");
        row.p_adjusted = GetNum(r, "p_adjusted");
        row.significant = r.at("significant");
        const json& fe = r.at("fixed_effect");
        const json& re = r.at("random_effects");
        row.fe_or = GetNum(fe, "or");
        row.fe_ci_lower = GetNum(fe, "ci_lower");
        row.fe_ci_upper = GetNum(fe, "ci_upper");
        row.re_or = GetNum(re, "or");
        row.re_ci_lower = GetNum(re, "ci_lower");
        row.re_ci_upper = GetNum(re, "ci_upper");
        row.i_squared = GetNum(re, "i_squared");
        row.q_p = GetNum(re, "q_p");
      }
      t.rows.push_back(std::move(row));
    }
    return t;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("association table: ", e.what()));
  }
}

}  // namespace scancov::aggregator
