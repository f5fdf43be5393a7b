#include "node/tasks/intercept_calibration.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/status_macros.h"
#include "models/scores/intercept_calibration.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/published_models.h"
#include "node/tasks/model_evaluation.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using json = nlohmann::json;

// Rows of the study's split, as (row index) with the dictionary's admission columns the site
// releases loaded.
struct SplitRows {
  std::vector<std::string> columns;
  TabularRows rows;
  std::vector<size_t> selected;
};

absl::StatusOr<SplitRows> LoadSplit(const json& spec, DatasetSource& data,
                                    const privacy::ReleasePolicy& policy,
                                    const std::string& site_id) {
  SplitRows out;
  for (const sites::VariableSpec& v : sites::AdmissionVariables()) {
    // A patient is not computable here when the model needs a variable the site keeps back.
    if (privacy::IsVariableAllowed(policy, v.name)) out.columns.push_back(v.name);
  }
  SCV_ASSIGN_OR_RETURN(out.rows, data.Load(out.columns, spec.value("outcome", std::string())));
  const std::string split = SplitFor(spec, site_id);
  const double holdout = spec.value("holdout_fraction", 0.19);
  const uint64_t seed = spec.value("split_seed", uint64_t{0});
  for (size_t i = 0; i < out.rows.keys.size(); ++i) {
    const bool held_out = InHoldout(out.rows.keys[i], seed, holdout);
    if ((split == "holdout" && !held_out) || (split == "train" && held_out)) continue;
    out.selected.push_back(i);
  }
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
                                                    const protocol::TensorSet* intercept,
                                                    DatasetSource& data,
                                                    const privacy::ReleasePolicy& policy,
                                                    const std::string& site_id) {
  const json spec = json::parse(task.spec_json(), nullptr, false);
  if (spec.is_discarded()) return absl::InvalidArgumentError("spec_json: not JSON");
  SCV_ASSIGN_OR_RETURN(const scores::LinearModelSpec* model,
                       scores::FindPublishedModel(spec.value("model", std::string())));
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
  const int min_cell = privacy::EffectiveMinCellCount(policy, spec.value("min_cell_count", 0));
  TaskOutcome out;
  if (events < min_cell || static_cast<int64_t>(y.size()) - events < min_cell) {
    out.result_json = json{
        {"status", "refused"},
        {"reason",
         "fewer events or non-events than "
         "the minimum"}}.dump();
    return out;
  }
  const protocol::Tensor* b = intercept ? intercept->Find("intercept") : nullptr;
  SCV_ASSIGN_OR_RETURN(scores::InterceptSiteSummary s,
                       scores::SummarizeInterceptSite(lp, y, b ? protocol::ToDoubles(*b)[0] : 0.0));
  out.num_samples = y.size();
  out.result_json = json{{"status", "ok"},
                         {"summary",
                          {{"intercept", s.intercept},
                           {"score", s.score},
                           {"information", s.information},
                           {"log_likelihood", s.log_likelihood},
                           {"n", s.num_observations},
                           {"events", s.num_events}}}}
                        .dump();
  return out;
}

}  // namespace scancov::node
