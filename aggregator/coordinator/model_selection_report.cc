// The Markdown section of a federated model selection study (model_selection_study.cc): the
// greedy path with its mean CV AUCs and penalties, the elbow, and the final model. Result:
// protocol/wire/model_selection.h.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"
#include "protocol/wire/model_selection.h"

namespace scancov::aggregator {
namespace {

constexpr char kTitle[] = "## Federated model selection (the seed's multivariable pipeline)\n\n";

std::string Names(const std::vector<std::string>& names) {
  return names.empty() ? std::string("none") : absl::StrJoin(names, ", ");
}

// The sites left out, as the round's result lists them: [{"reason": ..., "site": ...}].
std::string Notes(const std::vector<wire::SelectionSiteNote>& notes) {
  nlohmann::json out = nlohmann::json::array();
  for (const wire::SelectionSiteNote& n : notes) {
    out.push_back({{"site", n.site}, {"reason", n.reason}});
  }
  return out.dump();
}

std::string FinalModelMarkdown(const scores::FederatedSelection& f) {
  std::string md = absl::StrCat(
      absl::StrFormat("\n### Final model\n\nL2 penalty %g, mean CV AUC %.4f, intercept %.4f; "
                      "coefficients per standardised unit (value minus imputation mean, over "
                      "scale; a missing value is imputed at the mean).\n\n",
                      f.penalty, f.cv_auc, f.intercept),
      "| variable | imputation mean | scale | coefficient |\n|---|---|---|---|\n");
  for (size_t j = 0; j < f.variables.size(); ++j) {
    absl::StrAppend(&md, absl::StrFormat("| %s | %.4g | %.4g | %.4f |\n", f.variables[j],
                                         f.standardization.means[j], f.standardization.scales[j],
                                         f.coefficients[j]));
  }
  return md;
}

std::string SelectionMarkdown(const v1::StudyStatus& status) {
  std::string md = kTitle;
  if (status.rounds().empty()) return md + "No round has closed yet.\n";
  absl::StatusOr<wire::SelectionRoundResult> last =
      wire::ParseSelectionRoundResult(status.rounds().rbegin()->result_json());
  if (!last.ok())
    return absl::StrCat(md, "The result could not be read: ", last.status().message(), "\n");
  if (!last->selection) {
    return absl::StrCat(md, "In progress: ", status.rounds_size(), " rounds closed, now at ",
                        last->stage.empty() ? "?" : last->stage, ".\n");
  }
  const wire::SelectionOutcome& s = *last->selection;
  const scores::FederatedSelection& f = s.selection;
  absl::StrAppend(&md, "Outcome `", s.outcome, "`; ", last->sites.size(),
                  " sites, n = ", f.num_observations, ", events = ", f.num_events, "; ", s.rounds,
                  " rounds. Folds are cut inside each site; a fold's AUC is the pair-weighted mean "
                  "of the sites' held-out AUCs.\n\n");
  absl::StrAppend(&md, "Dropped as sparse: ", Names(f.dropped_sparse),
                  "; as constant: ", Names(f.dropped_constant), ".\n\n");
  absl::StrAppend(&md, "| step | variable added | mean CV AUC | penalty |\n|---|---|---|---|\n");
  int step = 0;
  for (const scores::SelectionStep& st : f.path) {
    absl::StrAppend(&md, absl::StrFormat("| %d | %s | %.4f | %g |\n", ++step, st.variable,
                                         st.mean_auc, st.penalty));
  }
  if (f.rejected) {
    absl::StrAppend(&md, absl::StrFormat("\nElbow: adding %s would give %.4f; the selection "
                                         "stopped.\n",
                                         f.rejected->variable, f.rejected->mean_auc));
  }
  absl::StrAppend(&md, FinalModelMarkdown(f));
  if (!last->refused.empty()) {
    absl::StrAppend(&md, "\nSites left out by their own release policy: ", Notes(last->refused),
                    "\n");
  }
  if (!last->rejected.empty()) {
    absl::StrAppend(&md, "\nSites left out because their answers did not fit the study: ",
                    Notes(last->rejected), "\n");
  }
  return md;
}

class ModelSelectionReport : public ReportSection {
 public:
  std::string RoundLabel(const v1::StudyStatus&, const v1::RoundStatus& r) const override {
    absl::StatusOr<wire::SelectionRoundResult> result =
        wire::ParseSelectionRoundResult(r.result_json());
    return !result.ok() || result->stage.empty() ? "model selection"
                                                 : absl::StrCat("model selection: ", result->stage);
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    return absl::StrCat("\n", ModelSelectionMarkdown(status));
  }
};

}  // namespace

std::string ModelSelectionMarkdown(const v1::StudyStatus& status) {
  return SelectionMarkdown(status);
}

SCANCOV_REGISTER_REPORT_SECTION(model_selection, ModelSelectionReport);

}  // namespace scancov::aggregator
