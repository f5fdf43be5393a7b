#include "node/tasks/intercept_calibration.h"

#include <cmath>

#include "core/status_macros.h"
#include "models/scores/intercept_calibration.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/published_models.h"
#include "protocol/wire/intercept_calibration.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

// Rows of the study's split, as (row index) with the dictionary's admission columns the site
// releases loaded.
struct SplitRows {
  std::vector<std::string> columns;
  TabularRows rows;
  std::vector<size_t> selected;
};

absl::StatusOr<SplitRows> LoadSplit(const wire::InterceptSpec& spec, DatasetSource& data,
                                    const privacy::ReleasePolicy& policy,
                                    const std::string& site_id) {
  SplitRows out;
  for (const sites::VariableSpec& v : sites::AdmissionVariables()) {
    // A patient is not computable here when the model needs a variable the site keeps back.
    if (privacy::IsVariableAllowed(policy, v.name)) out.columns.push_back(v.name);
  }
  SCV_ASSIGN_OR_RETURN(out.rows, data.Load(out.columns, spec.outcome));
  // The rows are the declared part of the site's own split, applied by the gate (node/gate.h).
  for (size_t i = 0; i < out.rows.keys.size(); ++i) out.selected.push_back(i);
  return out;
}

scores::PatientInputs InputsOf(const SplitRows& s, size_t i) {
  scores::PatientInputs inputs;
  const size_t c = s.columns.size();
  for (size_t j = 0; j < c; ++j) {
    const double v = s.rows.x[i * c + j];
    if (!std::isnan(v) && scores::FindInputSpec(s.columns[j]) != nullptr) {
      inputs.Set(s.columns[j], v);
    }
  }
  return inputs;
}

}  // namespace

absl::StatusOr<TaskOutcome> RunInterceptCalibration(const v1::Task& task,
                                                    const protocol::TensorSet* checkpoint,
                                                    DatasetSource& data,
                                                    const privacy::ReleasePolicy& policy,
                                                    const std::string& site_id) {
  SCV_ASSIGN_OR_RETURN(const wire::InterceptSpec spec, wire::ParseInterceptSpec(task.spec_json()));
  SCV_ASSIGN_OR_RETURN(const scores::LinearModelSpec* model,
                       scores::FindPublishedModel(spec.model));
  SCV_ASSIGN_OR_RETURN(SplitRows split, LoadSplit(spec, data, policy, site_id));
  std::vector<double> lp, y;
  for (size_t i : split.selected) {
    absl::StatusOr<double> terms = scores::TermsSum(*model, InputsOf(split, i));
    if (!terms.ok()) continue;  // not computable for this patient
    lp.push_back(*terms);
    y.push_back(split.rows.y[i]);
  }
  int64_t events = 0;
  for (double v : y) events += v == 1.0;
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.min_cell_count);
  TaskOutcome out;
  wire::InterceptSiteAnswer answer;
  if (events < min_cell || static_cast<int64_t>(y.size()) - events < min_cell) {
    answer.refused = true;
    answer.reason = privacy::BelowMinimumReason(min_cell);
    out.result_json = wire::ToJson(answer);
    return out;
  }
  SCV_ASSIGN_OR_RETURN(const double b, wire::ParseInterceptCheckpoint(checkpoint));
  SCV_ASSIGN_OR_RETURN(answer.summary, scores::SummarizeInterceptSite(lp, y, b));
  out.num_samples = y.size();
  out.result_json = wire::ToJson(answer);
  return out;
}

}  // namespace scancov::node
