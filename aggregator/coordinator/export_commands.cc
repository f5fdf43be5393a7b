#include "aggregator/coordinator/export_commands.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/cut_points.h"
#include "aggregator/coordinator/study_wait.h"
#include "aggregator/coordinator/validation_plan.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

// The cut points from counts (export_commands.h), with the classes they give printed to `out`.
absl::StatusOr<std::vector<double>> ChooseCutPoints(CoordinatorApi& api,
                                                    const v1::StudyStatus& fitted,
                                                    const std::vector<double>& beta,
                                                    const ExportModelOptions& options,
                                                    std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(
      v1::StudySpec spec,
      CutPointStudySpec(fitted, beta, absl::StrCat(fitted.study_id(), "-cut-points"),
                        options.cut_point_step));
  SCV_RETURN_IF_ERROR(api.CreateStudy(spec).status());
  SCV_ASSIGN_OR_RETURN(std::vector<v1::StudyStatus> done,
                       WaitForStudies(api, {spec.name()}, options.timeout_s, options.clock));
  scores::CutPointOptions rule;
  rule.max_low_death_fraction = options.max_low_death_fraction;
  SCV_ASSIGN_OR_RETURN(scores::AiScoreBinning b, CutPointsFromEvaluation(done.front(), rule));
  const auto row = [](const char* name, const scores::ClassSummary& c) {
    return absl::StrFormat("  %-6s %6d patients, %5d events (%.1f%%)\n", name, c.patients, c.deaths,
                           100 * c.mortality());
  };
  out << absl::StrFormat(
             "cut points %g / %g chosen from counts (study %s): %.1f%% of the training "
             "events in the low class\n",
             b.cut_points.low_medium, b.cut_points.medium_high, spec.name(),
             100 * b.low_death_fraction)
      << row("low", b.low) << row("medium", b.medium) << row("high", b.high);
  return std::vector<double>{b.cut_points.low_medium, b.cut_points.medium_high};
}

}  // namespace

absl::StatusOr<std::string> ScoringModelJson(const v1::StudyStatus& st,
                                             const std::vector<double>& beta,
                                             const std::vector<double>& cut_points) {
  const nlohmann::json spec = nlohmann::json::parse(st.spec().spec_json(), nullptr, false);
  const nlohmann::json result =
      st.rounds().empty()
          ? nlohmann::json()
          : nlohmann::json::parse(st.rounds().rbegin()->result_json(), nullptr, false);
  if (!spec.is_object() || !spec.contains("features") || !result.is_object() ||
      !result.contains("fit") || !result.at("fit").is_object()) {
    return absl::FailedPreconditionError(
        absl::StrCat("study '", st.study_id(), "': no fitted model (features and fit) to export"));
  }
  const nlohmann::json& fit = result.at("fit");
  nlohmann::json model = {{"features", spec.at("features")},
                          {"coefficients", beta},
                          {"outcome", spec.value("outcome", std::string())},
                          {"n", fit.value("n", 0)},
                          {"events", fit.value("events", 0)},
                          {"sites", st.spec().sites()},
                          {"source", "federated logistic regression, study " + st.study_id()}};
  if (!cut_points.empty()) model["cut_points"] = cut_points;
  for (const char* key : {"terciles", "five_level_cuts"}) {
    if (fit.contains(key)) model[key] = fit.at(key);
  }
  return model.dump(2) + "\n";
}

absl::Status ExportModel(CoordinatorApi& api, const std::string& study, const std::string& path,
                         const ExportModelOptions& options, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus st, api.GetStudyStatus(study));
  SCV_ASSIGN_OR_RETURN(std::vector<double> beta, FittedCoefficients(st));
  std::vector<double> cut_points = options.cut_points;
  if (options.choose_cut_points) {
    absl::StatusOr<std::vector<double>> chosen = ChooseCutPoints(api, st, beta, options, out);
    if (!chosen.ok() && !absl::IsFailedPrecondition(chosen.status())) return chosen.status();
    // The counts the sites may release do not always allow the rule (small sites release few
    // thresholds): then the seed's cut points, said so.
    cut_points = chosen.ok() ? *chosen : std::vector<double>{23, 45};
    if (!chosen.ok()) {
      out << "cut points could not be chosen from the released counts ("
          << chosen.status().message() << "); the seed's 23 / 45 are used\n";
    }
  }
  SCV_ASSIGN_OR_RETURN(std::string json, ScoringModelJson(st, beta, cut_points));
  SCV_RETURN_IF_ERROR(WriteFileAtomic(path, json));
  out << "model of study " << study << " written to " << path << "\n";
  return absl::OkStatus();
}

absl::StatusOr<std::pair<nn::Checkpoint, std::string>> StudyCheckpointHeader(
    const v1::StudyStatus& st) {
  const std::string& study = st.study_id();
  if (st.spec().kind() != v1::STUDY_KIND_TRAINING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "study '", study, "' is not a training study: it has no model weights to export"));
  }
  if (st.state() != v1::STUDY_STATE_DONE) {
    return absl::FailedPreconditionError(
        absl::StrCat("study '", study, "' is not done: its model is final only when it is"));
  }
  std::string checkpoint_id;
  for (const v1::RoundStatus& r : st.rounds()) {
    if (!r.checkpoint_id().empty()) checkpoint_id = r.checkpoint_id();
  }
  if (checkpoint_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("study '", study, "' has no checkpoint"));
  }
  const nlohmann::json spec = nlohmann::json::parse(st.spec().spec_json(), nullptr, false);
  nn::Checkpoint ckpt;
  ckpt.model = st.spec().plan().model();
  if (spec.is_object() && spec.contains("model_config")) {
    const nlohmann::json& c = spec.at("model_config");
    ckpt.model_config_json = c.is_string() ? c.get<std::string>() : c.dump();
  }
  if (spec.is_object()) ckpt.in_plane = spec.value("in_plane", 0);
  return std::make_pair(std::move(ckpt), checkpoint_id);
}

absl::Status ExportCheckpoint(CoordinatorApi& api, const std::string& study,
                              const std::string& path, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(v1::StudyStatus st, api.GetStudyStatus(study));
  SCV_ASSIGN_OR_RETURN(auto header, StudyCheckpointHeader(st));
  auto& [ckpt, checkpoint_id] = header;
  SCV_ASSIGN_OR_RETURN(ckpt.weights, api.DownloadCheckpoint(study, checkpoint_id));
  SCV_RETURN_IF_ERROR(nn::SaveCheckpoint(path, ckpt));
  out << "model '" << ckpt.model << "' of study " << study << " (checkpoint " << checkpoint_id
      << ", " << ckpt.weights.size() << " tensors"
      << (ckpt.in_plane > 0 ? absl::StrCat(", trained at ", ckpt.in_plane, " px") : "")
      << ") written to " << path << "\n";
  return absl::OkStatus();
}

absl::Status UploadModelCommand(CoordinatorApi& api, const std::string& path, std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(nn::Checkpoint ckpt, nn::LoadCheckpoint(path));
  SCV_ASSIGN_OR_RETURN(v1::UploadModelResponse uploaded, api.UploadModel(ckpt.weights));
  out << (ckpt.model.empty() ? "model" : absl::StrCat("model '", ckpt.model, "'")) << " from "
      << path << " (" << uploaded.tensors() << " tensors, " << uploaded.total_bytes() << " bytes) "
      << (uploaded.already_stored() ? "was already stored" : "uploaded") << "; sha256 "
      << uploaded.sha256() << "\n"
      << "start a training study from it with \"plan\": {\"initial_model_sha256\": \""
      << uploaded.sha256() << "\", ...}"
      << (ckpt.model.empty() ? "" : absl::StrCat(" and \"model\": \"", ckpt.model, "\"")) << "\n";
  return absl::OkStatus();
}

}  // namespace scancov::aggregator
