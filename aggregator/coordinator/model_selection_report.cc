// The Markdown section of a federated model selection study (selection_study.cc): the greedy
// path with its mean CV AUCs and penalties, the elbow, and the final model.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {
namespace {

using nlohmann::json;

std::string SelectionMarkdown(const v1::StudyStatus& status) {
  using nlohmann::json;
  std::string md = "## Federated model selection (the seed's multivariable pipeline)\n\n";
  if (status.rounds().empty()) return md + "No round has closed yet.\n";
  const json last = json::parse(status.rounds().rbegin()->result_json(), nullptr, false);
  if (last.is_discarded() || !last.contains("selection")) {
    return absl::StrCat(md, "In progress: ", status.rounds_size(), " rounds closed, now at ",
                        last.is_object() ? last.value("stage", std::string("?")) : "?", ".\n");
  }
  const json& s = last.at("selection");
  const json& f = s.at("final");
  absl::StrAppend(&md, "Outcome `", s.value("outcome", std::string()), "`; ",
                  last.value("sites", json::array()).size(), " sites, n = ", f.value("n", 0),
                  ", events = ", f.value("events", 0), "; ", s.value("rounds", 0),
                  " rounds. Folds are cut inside each site; a fold's AUC is the pair-weighted mean "
                  "of the sites' held-out AUCs.\n\n");
  const auto names = [](const json& list) {
    return list.empty() ? std::string("none")
                        : absl::StrJoin(list.get<std::vector<std::string>>(), ", ");
  };
  absl::StrAppend(&md, "Dropped as sparse: ", names(s.value("dropped_sparse", json::array())),
                  "; as constant: ", names(s.value("dropped_constant", json::array())), ".\n\n");
  absl::StrAppend(&md, "| step | variable added | mean CV AUC | penalty |\n|---|---|---|---|\n");
  int step = 0;
  for (const json& st : s.at("steps")) {
    absl::StrAppend(&md, absl::StrFormat("| %d | %s | %.4f | %g |\n", ++step,
                                         st.value("variable", std::string()),
                                         st.value("mean_cv_auc", 0.0), st.value("penalty", 0.0)));
  }
  if (s.contains("rejected") && s.at("rejected").is_object()) {
    const json& r = s.at("rejected");
    absl::StrAppend(
        &md, absl::StrFormat("\nElbow: adding %s would give %.4f; the selection "
                             "stopped.\n",
                             r.value("variable", std::string()), r.value("mean_cv_auc", 0.0)));
  }
  absl::StrAppend(
      &md,
      absl::StrFormat("\n### Final model\n\nL2 penalty %g, mean CV AUC %.4f, intercept %.4f; "
                      "coefficients per standardised unit (value minus imputation mean, over "
                      "scale; a missing value is imputed at the mean).\n\n",
                      f.value("penalty", 0.0), f.value("mean_cv_auc", 0.0),
                      f.value("intercept", 0.0)),
      "| variable | imputation mean | scale | coefficient |\n|---|---|---|---|\n");
  for (const json& v : f.at("variables")) {
    absl::StrAppend(&md,
                    absl::StrFormat("| %s | %.4g | %.4g | %.4f |\n", v.value("name", std::string()),
                                    v.value("imputation_mean", 0.0), v.value("scale", 0.0),
                                    v.value("coefficient", 0.0)));
  }
  if (!last.value("refused", json::array()).empty()) {
    absl::StrAppend(
        &md, "\nSites left out by their own release policy: ", last.at("refused").dump(), "\n");
  }
  if (!last.value("rejected", json::array()).empty()) {
    absl::StrAppend(&md, "\nSites left out because their answers did not fit the study: ",
                    last.at("rejected").dump(), "\n");
  }
  return md;
}

std::string ResultField(const v1::RoundStatus& r, const char* key) {
  const json j = json::parse(r.result_json(), nullptr, false);
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}

class ModelSelectionReport : public ReportSection {
 public:
  std::string RoundLabel(const v1::StudyStatus&, const v1::RoundStatus& r) const override {
    const std::string stage = ResultField(r, "stage");
    return stage.empty() ? "model selection" : absl::StrCat("model selection: ", stage);
  }
  std::string Markdown(const v1::StudyStatus& status) const override {
    return absl::StrCat("\n", ModelSelectionMarkdown(status));
  }
};

}  // namespace

std::string ModelSelectionMarkdown(const v1::StudyStatus& status) {
  try {  // the aggregator wrote the result; a field of another type must still not end the CLI
    return SelectionMarkdown(status);
  } catch (const std::exception& e) {
    return absl::StrCat(
        "## Federated model selection (the seed's multivariable pipeline)\n\nThe result could "
        "not be read: ",
        e.what(), "\n");
  }
}

SCANCOV_REGISTER_REPORT_SECTION(model_selection, ModelSelectionReport);

}  // namespace scancov::aggregator
