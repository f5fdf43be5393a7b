// The report section of a federated logistic regression: Newton steps and terciles-search
// rounds, and the fitted model's coefficient table with its risk classes. Result:
// protocol/wire/logistic_regression.h.
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "core/number_format.h"
#include "protocol/wire/logistic_regression.h"

namespace scancov::aggregator {
namespace {

std::string Fmt(double v) { return HumanNumber(v); }

class LogisticRegressionReport : public ReportSection {
 public:
  std::string RoundLabel(const v1::StudyStatus&, const v1::RoundStatus& r) const override {
    absl::StatusOr<wire::LogisticRoundResult> result =
        wire::ParseLogisticRoundResult(r.result_json());
    return absl::StrCat(result.ok() && result->terciles ? "terciles search " : "Newton step ",
                        r.round());
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    return absl::StrCat("\n", LogisticFitMarkdown(status));
  }
};

std::string TercilesMarkdown(const wire::LogisticModelFit& fit) {
  if (!fit.terciles.empty()) {
    const std::vector<double>& t = fit.terciles;
    const std::vector<double>& c = fit.five_level_cuts;
    return absl::StrFormat(
        "\nRisk classes from this model's own training scores (terciles of the fitted "
        "probabilities, found over %d rounds of counts, within %.1g on the logit scale): "
        "low p < %.4f <= medium < %.4f <= high. 1-5 scale cut points: %.4f / %.4f / %.4f / "
        "%.4f.\n",
        fit.terciles_rounds.value_or(0), fit.terciles_tolerance_logit.value_or(0.0), t[0], t[1],
        c[0], c[1], c[2], c[3]);
  }
  if (!fit.terciles_error.empty()) {
    return absl::StrCat("\nNo training terciles: ", fit.terciles_error, "\n");
  }
  return "";
}

// The refusals as the round's result lists them: [{"reason": ..., "site": ...}].
std::string Refusals(const std::vector<wire::LogisticRefusal>& refused) {
  nlohmann::json out = nlohmann::json::array();
  for (const wire::LogisticRefusal& r : refused) {
    out.push_back({{"site", r.site}, {"reason", r.reason}});
  }
  return out.dump();
}

}  // namespace

std::string LogisticFitMarkdown(const v1::StudyStatus& status) {
  std::string md = "## Federated logistic regression (exact Newton steps)\n\n";
  if (status.rounds().empty()) return md + "No round has closed yet.\n";
  absl::StatusOr<wire::LogisticRoundResult> result =
      wire::ParseLogisticRoundResult(status.rounds().rbegin()->result_json());
  if (!result.ok() || !result->fit) {
    return absl::StrCat(md, "Not converged yet (", status.rounds_size(), " rounds).\n");
  }
  const wire::LogisticModelFit& fit = *result->fit;
  absl::StrAppend(
      &md, "Converged after ", fit.iterations, " Newton steps (", status.rounds_size(),
      " rounds in all); n = ", fit.n, " complete cases, ", fit.events, " events; log-likelihood ",
      Fmt(fit.log_likelihood), "; L2 penalty ", fit.l2,
      ".\n\n| term | coefficient | SE | z | p | OR (95% CI) |\n|---|---|---|---|---|---|\n");
  for (const wire::LogisticTerm& t : fit.coefficients) {
    // For people: 4 significant digits for the fit, 3 for the odds ratios (an intercept's OR
    // is a tiny number, not "0.000"), 2 for p.
    absl::StrAppend(&md, "| ", t.term, " | ", HumanNumber(t.beta, 4), " | ", HumanNumber(t.se, 4),
                    " | ", HumanNumber(t.z, 3), " | ", HumanNumber(t.p, 2), " | ",
                    HumanNumber(t.odds_ratio, 3), " (", HumanNumber(t.ci_lower, 3), "-",
                    HumanNumber(t.ci_upper, 3), ") |\n");
  }
  absl::StrAppend(&md, TercilesMarkdown(fit));
  if (!result->refused.empty()) {
    absl::StrAppend(
        &md, "\nSites left out by their own release policy: ", Refusals(result->refused), "\n");
  }
  return md;
}

SCANCOV_REGISTER_REPORT_SECTION(logistic_regression, LogisticRegressionReport);

}  // namespace scancov::aggregator
