// Reports of fitted models: a federated logistic regression's coefficient table and an
// AI-severity study's members, fits and validation AUCs.
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/report.h"

namespace scancov::aggregator {
namespace {

std::string Fmt(double v) { return absl::StrFormat("%.4f", v); }

}  // namespace

std::string LogisticFitMarkdown(const v1::StudyStatus& status) {
  std::string md = "## Federated logistic regression (exact Newton steps)\n\n";
  if (status.rounds().empty()) return md + "No round has closed yet.\n";
  const nlohmann::json result =
      nlohmann::json::parse(status.rounds().rbegin()->result_json(), nullptr, false);
  if (result.is_discarded() || !result.contains("fit")) {
    return absl::StrCat(md, "Not converged yet (", status.rounds_size(), " rounds).\n");
  }
  const nlohmann::json& fit = result.at("fit");
  absl::StrAppend(
      &md, "Converged after ", fit.value("iterations", 0), " Newton steps (", status.rounds_size(),
      " rounds in all); n = ", fit.value("n", 0), " complete cases, ", fit.value("events", 0),
      " events; log-likelihood ", Fmt(fit.value("log_likelihood", 0.0)), "; L2 penalty ",
      fit.value("l2", 0.0),
      ".\n\n| term | coefficient | SE | z | p | OR (95% CI) |\n|---|---|---|---|---|---|\n");
  for (const nlohmann::json& t : fit.at("coefficients")) {
    absl::StrAppend(&md, absl::StrFormat("| %s | %.4f | %.4f | %.2f | %.2g | %.3f (%.3f-%.3f) |\n",
                                         t.at("term").get<std::string>(), t.value("beta", 0.0),
                                         t.value("se", 0.0), t.value("z", 0.0), t.value("p", 1.0),
                                         t.value("or", 1.0), t.value("ci_lower", 0.0),
                                         t.value("ci_upper", 0.0)));
  }
  if (fit.contains("terciles") && fit.contains("five_level_cuts")) {
    const nlohmann::json& t = fit.at("terciles");
    const nlohmann::json& c = fit.at("five_level_cuts");
    absl::StrAppend(
        &md,
        absl::StrFormat(
            "\nRisk classes from this model's own training scores (terciles of the fitted "
            "probabilities, found over %d rounds of counts, within %.1g on the logit scale): "
            "low p < %.4f <= medium < %.4f <= high. 1-5 scale cut points: %.4f / %.4f / %.4f / "
            "%.4f.\n",
            fit.value("terciles_rounds", 0), fit.value("terciles_tolerance_logit", 0.0),
            t[0].get<double>(), t[1].get<double>(), c[0].get<double>(), c[1].get<double>(),
            c[2].get<double>(), c[3].get<double>()));
  } else if (fit.contains("terciles_error")) {
    absl::StrAppend(&md, "\nNo training terciles: ", fit.at("terciles_error").get<std::string>(),
                    "\n");
  }
  if (!result.value("refused", nlohmann::json::array()).empty()) {
    absl::StrAppend(
        &md, "\nSites left out by their own release policy: ", result.at("refused").dump(), "\n");
  }
  return md;
}

std::string AiSeverityMarkdown(const v1::StudyStatus& status) {
  const nlohmann::json spec = nlohmann::json::parse(status.spec().spec_json(), nullptr, false);
  if (status.spec().kind() == v1::STUDY_KIND_ANALYSIS || !spec.is_object() ||
      spec.value("task", std::string()) != "ai_severity" || status.rounds().empty()) {
    return "";
  }
  const nlohmann::json members =
      spec.contains("encoders") && spec.at("encoders").is_array()
          ? spec.at("encoders")
          : nlohmann::json::array({spec.value("encoder", nlohmann::json::object())});
  std::vector<nlohmann::json> pca(members.size()), fit(members.size());
  for (const v1::RoundStatus& r : status.rounds()) {
    const nlohmann::json j = nlohmann::json::parse(r.result_json(), nullptr, false);
    if (!j.is_object() || !j.contains("members") || !j.at("members").is_array()) continue;
    for (size_t m = 0; m < members.size() && m < j.at("members").size(); ++m) {
      const nlohmann::json& e = j.at("members")[m];
      if (!e.is_object()) continue;
      if (j.value("phase", std::string()) == "pca") pca[m] = e;
      if (e.contains("fit")) fit[m] = e.at("fit");
    }
  }
  std::string md = absl::StrCat(
      "\n## AI-severity ensemble\n\nThe ensemble's probability is the mean of its ", members.size(),
      " member(s)' probabilities.\n\n| member | window | PCA components | ",
      "explained variance | Newton steps | config |\n|---|---|---|---|---|---|\n");
  for (size_t m = 0; m < members.size(); ++m) {
    const nlohmann::json& c = members[m];
    absl::StrAppend(&md, "| m", m, " | ", c.is_object() ? c.value("window", "single") : "?", " | ",
                    pca[m].is_object() ? absl::StrCat(pca[m].value("components", 0)) : "", " | ",
                    pca[m].is_object() ? Fmt(pca[m].value("explained_variance", 0.0)) : "", " | ",
                    fit[m].is_object() ? absl::StrCat(fit[m].value("iterations", 0)) : "", " | `",
                    c.dump(), "` |\n");
  }
  absl::StrAppend(&md, "\nAt the final round each site kept the ensemble's probability for every ",
                  "patient it has a CT for, in its own store: later studies use it as the ",
                  "variable `ai_severity:", status.study_id(),
                  "` (sites: ", absl::StrJoin(status.spec().sites(), ", "),
                  status.spec().evaluation_sites().empty() ? "" : ", ",
                  absl::StrJoin(status.spec().evaluation_sites(), ", "), ").\n");
  const size_t shown = members.size() > 1 ? members.size() : 0;  // per-member AUC columns
  absl::StrAppend(&md, "\nValidation AUC, final round:\n\n| site | n | ensemble |");
  for (size_t m = 0; m < shown; ++m) absl::StrAppend(&md, " m", m, " |");
  md += "\n|---|---|---|";
  for (size_t m = 0; m < shown; ++m) md += "---|";
  md += "\n";
  for (const v1::SiteRoundStatus& s : status.rounds().rbegin()->sites()) {
    const auto metric = [&](const std::string& n) {
      auto it = s.metrics().find(n);
      return it == s.metrics().end() ? std::string() : Fmt(it->second);
    };
    absl::StrAppend(&md, "| ", s.site_id(), " | ", s.num_samples(), " | ", metric("global.val_auc"),
                    " |");
    for (size_t m = 0; m < shown; ++m) {
      absl::StrAppend(&md, " ", metric(absl::StrCat("global.val_auc_m", m)), " |");
    }
    md += "\n";
  }
  return md;
}

}  // namespace scancov::aggregator
