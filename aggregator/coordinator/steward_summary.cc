#include "aggregator/coordinator/steward_summary.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace scancov::aggregator {
namespace {

using Json = nlohmann::ordered_json;

// A JSON object's text parsed, or an empty object for "" or text that is not one (the
// aggregator has checked the spec; the summary then shows the text as it is).
Json ObjectOf(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : Json::object();
}

// The variables a spec names: "features" (names, or objects with a "name") and "variables".
std::vector<std::string> NamedVariables(const Json& spec) {
  std::vector<std::string> names;
  for (const char* key : {"features", "variables"}) {
    if (!spec.contains(key) || !spec[key].is_array()) continue;
    for (const Json& v : spec[key]) {
      if (v.is_string()) names.push_back(v.get<std::string>());
      if (v.is_object() && v.contains("name") && v["name"].is_string()) {
        names.push_back(v["name"].get<std::string>());
      }
    }
  }
  return names;
}

std::string Named(const Json& spec) {
  std::vector<std::string> parts;
  if (spec.contains("outcome") && spec["outcome"].is_string()) {
    parts.push_back(absl::StrCat("the outcome '", spec["outcome"].get<std::string>(), "'"));
  }
  const std::vector<std::string> variables = NamedVariables(spec);
  if (!variables.empty()) {
    parts.push_back(
        absl::StrCat(variables.size(), " variable(s): ", absl::StrJoin(variables, ", ")));
  }
  if (parts.empty()) return "no outcome or variable";
  return absl::StrJoin(parts, "; ");
}

std::string Releases(const v1::StudySpec& spec, bool evaluates_only, const Json& privacy) {
  if (evaluates_only) return "the final model's evaluation metrics only (no model weights)";
  if (spec.kind() != v1::STUDY_KIND_TRAINING) return "summary statistics only (no model weights)";
  return absl::StrCat("model weights (trained on the site's data) and metrics",
                      privacy.contains("secure_aggregation")
                          ? ", masked so that the aggregator sees only the sites' sum"
                          : "");
}

std::string SiteParagraph(const v1::StudySpec& spec, const std::string& site, bool evaluates_only,
                          const Json& options, const Json& privacy) {
  const char* role = evaluates_only                           ? "evaluates the final model only"
                     : spec.kind() == v1::STUDY_KIND_TRAINING ? "trains"
                                                              : "answers the analysis";
  std::string min_cells = "none asked (the site's own applies)";
  if (options.contains("min_cell_count") && options["min_cell_count"].is_number()) {
    min_cells =
        absl::StrCat(options["min_cell_count"].dump(), " (the site's own applies if larger)");
  }
  return absl::StrCat("  ", site, " (", role, "): ", spec.study_kind(), "\n",
                      "    names: ", Named(options), "\n",
                      "    releases: ", Releases(spec, evaluates_only, privacy), "\n",
                      "    minimum cell count: ", min_cells, "\n");
}

std::string PlanLine(const v1::TrainingPlan& p) {
  std::string line = absl::StrCat("model ", p.model().empty() ? "(none)" : p.model());
  if (!p.dataset().empty()) absl::StrAppend(&line, ", dataset ", p.dataset());
  absl::StrAppend(&line, ", ", p.local_epochs(), " local epoch(s), batch ", p.batch_size(),
                  ", learning rate ", absl::StrFormat("%g", p.learning_rate()), ", seed ",
                  p.seed());
  if (p.proximal_mu() > 0) absl::StrAppend(&line, ", proximal mu ", p.proximal_mu());
  absl::StrAppend(&line, p.initial_model_sha256().empty()
                             ? ", initial model built at one site from the seed"
                             : absl::StrCat(", starts from the uploaded model with SHA-256 ",
                                            p.initial_model_sha256()));
  return line;
}

std::string StudyLines(const v1::StudySpec& spec, const Json& privacy) {
  // Unset: the aggregator's defaults (fedavg; every site).
  const bool training = spec.kind() == v1::STUDY_KIND_TRAINING;
  const std::string strategy = spec.strategy().empty() ? "fedavg" : spec.strategy();
  const int min_sites =
      spec.min_sites() > 0 ? static_cast<int>(spec.min_sites()) : spec.sites_size();
  std::string out =
      training ? absl::StrCat("  rounds: ", spec.rounds(), ", strategy ", strategy, "; ") : "  ";
  absl::StrAppend(&out, "a round closes with ", min_sites, " of ", spec.sites_size(), " site(s)");
  if (spec.round_timeout_s() > 0) {
    absl::StrAppend(&out, " or at its deadline (", spec.round_timeout_s(), " s)");
  }
  absl::StrAppend(&out, "\n  privacy options: ", privacy.empty() ? "none" : privacy.dump(), "\n");
  if (training) {
    absl::StrAppend(&out, "  training plan: ", PlanLine(spec.plan()), "\n");
  }
  absl::StrAppend(&out, "  spec (as each site receives it): ",
                  spec.spec_json().empty() ? "{}" : spec.spec_json(), "\n");
  return out;
}

}  // namespace

std::string StewardSummary(const v1::StudyStatus& study) {
  const v1::StudySpec& spec = study.spec();
  const Json options = ObjectOf(spec.spec_json());
  const Json privacy = ObjectOf(spec.privacy_json());
  std::string out = absl::StrCat(
      "What each site's steward will be asked to approve, as the coordinator reads the spec: "
      "the outcome and variables it names (a kind may read more: CT series, its default "
      "variables). The node's own summary, `scancov-node pending`, is the one approved.\n");
  for (const std::string& site : spec.sites()) {
    absl::StrAppend(&out, SiteParagraph(spec, site, false, options, privacy));
  }
  for (const std::string& site : spec.evaluation_sites()) {
    absl::StrAppend(&out, SiteParagraph(spec, site, true, options, privacy));
  }
  absl::StrAppend(&out, "Study ", study.study_id(), ":\n", StudyLines(spec, privacy));
  return out;
}

}  // namespace scancov::aggregator
