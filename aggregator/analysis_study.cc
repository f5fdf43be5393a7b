// Federated analysis studies: one round of ANALYZE tasks, combined into an association table.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/association_table.h"
#include "aggregator/study_logic.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

class AnalysisStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
    return ParseAnalysisOptions(spec.spec_json()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, "");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const nlohmann::json j = nlohmann::json::parse(header.result_json(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("terms")) {
      return absl::InvalidArgumentError("result_json is not an association result");
    }
    // Parse it the way the round will, so a malformed result is refused now, not at closing.
    return CombineAssociations({{task.site_id, header.result_json()}},
                               AnalysisOptions{j.value("outcome", std::string("?"))})
        .status();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(AnalysisOptions options, ParseAnalysisOptions(study.spec.spec_json()));
    std::vector<std::pair<std::string, std::string>> site_results;
    for (const std::string& site : study.spec.sites()) {  // keep the spec's site order
      for (const ResultRecord& r : results) {
        if (r.site_id == site) site_results.push_back({site, r.result_json});
      }
    }
    SCV_ASSIGN_OR_RETURN(AssociationTable table, CombineAssociations(site_results, options));
    RoundOutcome out;
    out.result_json = AssociationTableToJson(table);
    int significant = 0;
    for (const AssociationRow& row : table.rows) significant += row.significant;
    out.metrics["n_terms_tested"] = table.tests;
    out.metrics["n_terms_significant"] = significant;
    out.study_done = true;
    return out;
  }
};

}  // namespace

std::string AnalysisName(const std::string& spec_json) {
  const nlohmann::json j = nlohmann::json::parse(spec_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("analysis") ||
      !j.at("analysis").is_string()) {
    return "";
  }
  return j.at("analysis").get<std::string>();
}

std::unique_ptr<StudyLogic> MakeAnalysisStudyLogic() {
  return std::make_unique<AnalysisStudyLogic>();
}

}  // namespace scancov::aggregator
