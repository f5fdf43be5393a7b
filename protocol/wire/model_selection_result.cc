// The model_selection kind's combined result (protocol/wire/model_selection.h).
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"
#include "protocol/wire/model_selection.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "model_selection";
constexpr char kWhere[] = "model selection result";

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": ", why));
}

json StepJson(const scores::SelectionStep& s) {
  return {{"variable", s.variable}, {"mean_cv_auc", s.mean_auc}, {"penalty", s.penalty}};
}

absl::StatusOr<scores::SelectionStep> StepFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) return Bad(where + ": not an object");
  scores::SelectionStep s;
  const std::string at = absl::StrCat(kWhere, ": ", where);
  SCV_ASSIGN_OR_RETURN(s.variable, StringField(j, "variable", at, ""));
  SCV_ASSIGN_OR_RETURN(s.mean_auc, NumberField(j, "mean_cv_auc", at, 0.0));
  SCV_ASSIGN_OR_RETURN(s.penalty, NumberField(j, "penalty", at, 0.0));
  if (s.variable.empty()) return Bad(where + ": variable is required");
  return s;
}

json NotesJson(const std::vector<SelectionSiteNote>& notes) {
  json out = json::array();
  for (const SelectionSiteNote& n : notes) out.push_back({{"site", n.site}, {"reason", n.reason}});
  return out;
}

absl::StatusOr<std::vector<SelectionSiteNote>> NotesFromJson(const json& j, const char* key) {
  std::vector<SelectionSiteNote> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array()) return Bad(absl::StrCat(key, " must be a list"));
  const std::string at = absl::StrCat(kWhere, ": ", key);
  for (const json& e : j.at(key)) {
    if (!e.is_object()) return Bad(absl::StrCat(key, ": an entry is not an object"));
    SelectionSiteNote n;
    SCV_ASSIGN_OR_RETURN(n.site, StringField(e, "site", at, ""));
    SCV_ASSIGN_OR_RETURN(n.reason, StringField(e, "reason", at, ""));
    out.push_back(std::move(n));
  }
  return out;
}

json OutcomeJson(const SelectionOutcome& o) {
  const scores::FederatedSelection& f = o.selection;
  json steps = json::array(), variables = json::array();
  for (const scores::SelectionStep& s : f.path) steps.push_back(StepJson(s));
  for (size_t j = 0; j < f.variables.size(); ++j) {
    variables.push_back({{"name", f.variables[j]},
                         {"imputation_mean", f.standardization.means[j]},
                         {"scale", f.standardization.scales[j]},
                         {"coefficient", f.coefficients[j]}});
  }
  return {{"outcome", o.outcome},
          {"rounds", o.rounds},
          {"steps", steps},
          {"rejected", f.rejected ? StepJson(*f.rejected) : json(nullptr)},
          {"dropped_sparse", f.dropped_sparse},
          {"dropped_constant", f.dropped_constant},
          {"final",
           {{"variables", variables},
            {"intercept", f.intercept},
            {"penalty", f.penalty},
            {"mean_cv_auc", f.cv_auc},
            {"n", f.num_observations},
            {"events", f.num_events}}}};
}

// The final model's variables into `f`.
absl::Status FinalVariablesFromJson(const json& list, scores::FederatedSelection& f) {
  if (!list.is_array() || list.size() > kMaxSelectionVariables) {
    return Bad(absl::StrCat("final.variables must be a list of at most ", kMaxSelectionVariables));
  }
  const Eigen::Index k = static_cast<Eigen::Index>(list.size());
  f.standardization.means.resize(k);
  f.standardization.scales.resize(k);
  f.coefficients.resize(k);
  for (Eigen::Index i = 0; i < k; ++i) {
    const json& v = list[static_cast<size_t>(i)];
    const std::string at = absl::StrCat(kWhere, ": final.variables[", i, "]");
    if (!v.is_object()) return Bad(absl::StrCat("final.variables[", i, "]: not an object"));
    std::string name;
    SCV_ASSIGN_OR_RETURN(name, StringField(v, "name", at, ""));
    if (name.empty()) return Bad(absl::StrCat("final.variables[", i, "]: name is required"));
    f.variables.push_back(name);
    SCV_ASSIGN_OR_RETURN(f.standardization.means[i], NumberField(v, "imputation_mean", at, 0.0));
    SCV_ASSIGN_OR_RETURN(f.standardization.scales[i], NumberField(v, "scale", at, 0.0));
    SCV_ASSIGN_OR_RETURN(f.coefficients[i], NumberField(v, "coefficient", at, 0.0));
  }
  return absl::OkStatus();
}

absl::StatusOr<SelectionOutcome> OutcomeFromJson(const json& j) {
  if (!j.is_object()) return Bad("selection: not an object");
  const std::string at = absl::StrCat(kWhere, ": selection");
  SelectionOutcome o;
  scores::FederatedSelection& f = o.selection;
  SCV_ASSIGN_OR_RETURN(o.outcome, StringField(j, "outcome", at, ""));
  SCV_ASSIGN_OR_RETURN(const int64_t rounds, IntField(j, "rounds", at, 0, 0, 1000000));
  o.rounds = static_cast<int>(rounds);
  if (!j.contains("steps") || !j.at("steps").is_array()) {
    return Bad("selection: steps must be a list");
  }
  for (size_t i = 0; i < j.at("steps").size(); ++i) {
    SCV_ASSIGN_OR_RETURN(scores::SelectionStep s,
                         StepFromJson(j.at("steps")[i], absl::StrCat("steps[", i, "]")));
    f.path.push_back(std::move(s));
  }
  if (j.contains("rejected") && !j.at("rejected").is_null()) {
    SCV_ASSIGN_OR_RETURN(f.rejected, StepFromJson(j.at("rejected"), "rejected"));
  }
  SCV_ASSIGN_OR_RETURN(f.dropped_sparse, StringListField(j, "dropped_sparse", at, 1000));
  SCV_ASSIGN_OR_RETURN(f.dropped_constant, StringListField(j, "dropped_constant", at, 1000));
  if (!j.contains("final") || !j.at("final").is_object()) {
    return Bad("selection: final is required");
  }
  const json& final_model = j.at("final");
  const std::string final_at = absl::StrCat(kWhere, ": final");
  SCV_RETURN_IF_ERROR(FinalVariablesFromJson(
      final_model.contains("variables") ? final_model.at("variables") : json(), f));
  SCV_ASSIGN_OR_RETURN(f.intercept, NumberField(final_model, "intercept", final_at, 0.0));
  SCV_ASSIGN_OR_RETURN(f.penalty, NumberField(final_model, "penalty", final_at, 0.0));
  SCV_ASSIGN_OR_RETURN(f.cv_auc, NumberField(final_model, "mean_cv_auc", final_at, 0.0));
  SCV_ASSIGN_OR_RETURN(f.num_observations,
                       IntField(final_model, "n", final_at, 0, 0, int64_t{1} << 62));
  SCV_ASSIGN_OR_RETURN(f.num_events,
                       IntField(final_model, "events", final_at, 0, 0, f.num_observations));
  return o;
}

}  // namespace

std::string ToJson(const SelectionRoundResult& r) {
  json j = {{"analysis", kKind},
            {"stage", r.stage},
            {"models", r.models},
            {"sites", r.sites},
            {"refused", NotesJson(r.refused)},
            {"rejected", NotesJson(r.rejected)}};
  if (r.selection) j["selection"] = OutcomeJson(*r.selection);
  return j.dump();
}

absl::StatusOr<SelectionRoundResult> ParseSelectionRoundResult(const std::string& text) {
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, kWhere));
  SelectionRoundResult r;
  SCV_ASSIGN_OR_RETURN(r.stage, StringField(j, "stage", kWhere, ""));
  SCV_ASSIGN_OR_RETURN(r.models, IntField(j, "models", kWhere, 0, 0, kMaxSelectionModelsPerBatch));
  SCV_ASSIGN_OR_RETURN(r.sites, StringListField(j, "sites", kWhere, 100000));
  SCV_ASSIGN_OR_RETURN(r.refused, NotesFromJson(j, "refused"));
  SCV_ASSIGN_OR_RETURN(r.rejected, NotesFromJson(j, "rejected"));
  if (j.contains("selection")) {
    SCV_ASSIGN_OR_RETURN(r.selection, OutcomeFromJson(j.at("selection")));
  }
  return r;
}

}  // namespace scancov::wire
