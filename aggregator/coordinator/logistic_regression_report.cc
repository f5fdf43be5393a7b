// The report section of a federated logistic regression: Newton steps and terciles-search
// rounds, and the fitted model's coefficient table with its risk classes.
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {
namespace {

std::string Fmt(double v) { return absl::StrFormat("%.4f", v); }

// A string field of a round's result_json, "" when absent or not a string.
std::string ResultField(const v1::RoundStatus& r, const char* key) {
  const nlohmann::json j = nlohmann::json::parse(r.result_json(), nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}

class LogisticRegressionReport : public ReportSection {
 public:
  std::string RoundLabel(const v1::StudyStatus&, const v1::RoundStatus& r) const override {
    return absl::StrCat(ResultField(r, "phase") == "terciles" ? "terciles search " : "Newton step ",
                        r.round());
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    return absl::StrCat("\n", LogisticFitMarkdown(status));
  }
};

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

SCANCOV_REGISTER_REPORT_SECTION(logistic_regression, LogisticRegressionReport);

}  // namespace scancov::aggregator
