#include "aggregator/coordinator/validate_command.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/study_wait.h"
#include "aggregator/coordinator/validation_heatmap.h"
#include "aggregator/coordinator/validation_plan.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

// The fits of the finished training studies, by study name.
struct Fits {
  std::map<std::string, std::vector<double>> coefficients, terciles;
};

// Step 0: the AI-severity studies the plan's features use must be done.
absl::Status UseAiSeverityStudies(CoordinatorApi& api, ValidationPlan& plan) {
  for (const std::string& study : AiSeverityStudies(plan)) {
    absl::StatusOr<v1::StudyStatus> st = api.GetStudyStatus(study);
    if (!st.ok()) {
      return absl::Status(st.status().code(), absl::StrCat("plan: feature 'ai_severity:", study,
                                                           "': ", st.status().message()));
    }
    SCV_RETURN_IF_ERROR(UseAiSeverityStudy(*st, &plan));
  }
  return absl::OkStatus();
}

// Creates every study of `specs` and returns their names.
absl::StatusOr<std::vector<std::string>> CreateAll(CoordinatorApi& api,
                                                   const std::vector<v1::StudySpec>& specs) {
  std::vector<std::string> names;
  for (const v1::StudySpec& spec : specs) {
    SCV_RETURN_IF_ERROR(api.CreateStudy(spec).status());
    names.push_back(spec.name());
  }
  return names;
}

Fits CollectFits(const std::vector<v1::StudyStatus>& trained, std::ostream& out) {
  Fits fits;
  for (const v1::StudyStatus& st : trained) {
    absl::StatusOr<std::vector<double>> beta = FittedCoefficients(st);
    if (beta.ok()) {
      fits.coefficients[st.study_id()] = *beta;
      // Each model's risk groups: its own training terciles (else the published ones).
      absl::StatusOr<std::vector<double>> t = FittedTerciles(st);
      if (t.ok()) fits.terciles[st.study_id()] = *t;
    } else {
      out << "  no model from " << st.study_id() << ": " << beta.status().message() << "\n";
    }
  }
  return fits;
}

absl::Status WriteReports(const ValidationPlan& plan, const std::vector<v1::StudyStatus>& trained,
                          const std::vector<v1::StudyStatus>& evaluated, const std::string& dir,
                          std::ostream& out) {
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  for (const auto* group : {&trained, &evaluated}) {
    for (const v1::StudyStatus& st : *group) {
      SCV_RETURN_IF_ERROR(WriteStudyReport(st, dir + "/" + st.study_id()));
    }
  }
  const std::string md = ValidationMatrixMarkdown(plan, evaluated);
  SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/validation.md", md));
  for (const ReportFile& f : ValidationHeatMaps(plan, evaluated)) {
    SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + f.name, f.content));
  }
  SCV_RETURN_IF_ERROR(
      WriteFileAtomic(dir + "/validation.html", ValidationReportHtml(plan, evaluated)));
  out << md << "\nreport written to " << dir << "/validation.md and " << dir << "/validation.html"
      << std::endl;
  return absl::OkStatus();
}

}  // namespace

absl::Status RunValidationPlan(CoordinatorApi& api, const ValidateOptions& options,
                               std::ostream& out) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(options.plan_file));
  SCV_ASSIGN_OR_RETURN(ValidationPlan plan, ParseValidationPlan(text));
  SCV_RETURN_IF_ERROR(UseAiSeverityStudies(api, plan));
  std::vector<TrainedModel> models;
  std::vector<v1::StudySpec> training_specs;
  for (const auto& [model, spec] : TrainingStudies(plan)) {
    models.push_back(model);
    training_specs.push_back(spec);
  }
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> training, CreateAll(api, training_specs));
  out << "validate: " << training.size() << " training studies created" << std::endl;
  SCV_ASSIGN_OR_RETURN(std::vector<v1::StudyStatus> trained,
                       WaitForStudies(api, training, options.timeout_s, options.clock));
  const Fits fits = CollectFits(trained, out);
  SCV_ASSIGN_OR_RETURN(
      std::vector<std::string> evaluation,
      CreateAll(api, EvaluationStudies(plan, models, fits.coefficients, fits.terciles)));
  out << "validate: " << fits.coefficients.size() << " models fitted, " << evaluation.size()
      << " evaluation studies created" << std::endl;
  SCV_ASSIGN_OR_RETURN(std::vector<v1::StudyStatus> evaluated,
                       WaitForStudies(api, evaluation, options.timeout_s, options.clock));
  return WriteReports(plan, trained, evaluated, options.out_dir, out);
}

}  // namespace scancov::aggregator
