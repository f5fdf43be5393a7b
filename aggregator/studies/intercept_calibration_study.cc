// Federated calibration of a published model's intercept (the ScanCov paper published its
// coefficients without one): the linear predictor is kept as published (an offset) and only the
// intercept is fitted, by exact federated Newton steps on one parameter.
//
// spec_json: {"analysis": "intercept_calibration", "outcome": "severe",
//             "model": "scancov_paper", "split": ..., "min_cell_count": ...}
// Round r: every site receives the current intercept as a checkpoint (one float64 tensor
// "intercept"; none in round 0: 0) and returns sum(y - p), sum p(1 - p), the log-likelihood and
// its counts (models/scores/intercept_calibration.h); the sum over sites is the pooled data's;
// the calibrator is replayed over the rounds' pooled summaries (deterministic, restart-safe).
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/scores/intercept_calibration.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;

json ToJson(const scores::InterceptSiteSummary& s) {
  return {{"intercept", s.intercept},     {"score", s.score},
          {"information", s.information}, {"log_likelihood", s.log_likelihood},
          {"n", s.num_observations},      {"events", s.num_events}};
}

absl::StatusOr<scores::InterceptSiteSummary> FromJson(const json& j) {
  try {
    scores::InterceptSiteSummary s;
    s.intercept = j.at("intercept");
    s.score = j.at("score");
    s.information = j.at("information");
    s.log_likelihood = j.at("log_likelihood");
    s.num_observations = j.at("n");
    s.num_events = j.at("events");
    return s;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("intercept summary: ", e.what()));
  }
}

scores::InterceptSiteSummary Pool(const std::vector<scores::InterceptSiteSummary>& sites) {
  scores::InterceptSiteSummary total = sites.front();
  for (size_t i = 1; i < sites.size(); ++i) {
    total.score += sites[i].score;
    total.information += sites[i].information;
    total.log_likelihood += sites[i].log_likelihood;
    total.num_observations += sites[i].num_observations;
    total.num_events += sites[i].num_events;
  }
  return total;
}

class InterceptStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const {
    const json j = json::parse(spec.spec_json(), nullptr, false);
    if (j.is_discarded() || j.value("outcome", std::string()).empty() ||
        j.value("model", std::string()).empty()) {
      return absl::InvalidArgumentError("spec_json: outcome and model are required");
    }
    return absl::OkStatus();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    const json j = json::parse(header.result_json(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("result_json");
    if (j.value("status", std::string()) == "refused") return absl::OkStatus();
    SCV_ASSIGN_OR_RETURN(scores::InterceptSiteSummary s, FromJson(j.value("summary", json())));
    const protocol::Tensor* b = input ? input->Find("intercept") : nullptr;
    const double expected = b ? protocol::ToDoubles(*b)[0] : 0.0;
    if (s.intercept != expected) {
      return absl::InvalidArgumentError("summary evaluated at another intercept than the task's");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    std::vector<scores::InterceptSiteSummary> sites;
    json refused = json::array();
    for (const ResultRecord& r : results) {
      const json j = json::parse(r.result_json, nullptr, false);
      if (j.value("status", std::string()) == "refused") {
        refused.push_back(r.site_id);
        continue;
      }
      SCV_ASSIGN_OR_RETURN(scores::InterceptSiteSummary s, FromJson(j.at("summary")));
      sites.push_back(s);
    }
    if (sites.empty()) return absl::FailedPreconditionError("no site could take part");
    const scores::InterceptSiteSummary pooled = Pool(sites);
    SCV_ASSIGN_OR_RETURN(scores::InterceptCalibrator calibrator,
                         scores::InterceptCalibrator::Create({}));
    for (const RoundRecord& past : history) {
      const json j = json::parse(past.result_json, nullptr, false);
      SCV_ASSIGN_OR_RETURN(scores::InterceptSiteSummary s, FromJson(j.at("pooled_summary")));
      SCV_RETURN_IF_ERROR(calibrator.Update({s}));
    }
    SCV_RETURN_IF_ERROR(calibrator.Update({pooled}));
    RoundOutcome out;
    json result = {{"analysis", "intercept_calibration"},
                   {"pooled_summary", ToJson(pooled)},
                   {"refused", refused}};
    if (calibrator.converged()) {
      SCV_ASSIGN_OR_RETURN(scores::InterceptCalibration c, calibrator.Result());
      result["fit"] = {{"intercept", c.intercept},   {"se", c.standard_error},
                       {"iterations", c.iterations}, {"n", c.num_observations},
                       {"events", c.num_events},     {"log_likelihood", c.log_likelihood}};
      out.study_done = true;
    } else {
      protocol::TensorSet next;
      SCV_RETURN_IF_ERROR(next.Add(protocol::FromDoubles(
          "intercept", {1}, protocol::DType::kFloat64, {calibrator.next_intercept()})));
      out.weights = std::move(next);
    }
    out.metrics["n"] = static_cast<double>(pooled.num_observations);
    out.result_json = result.dump();
    return out;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateInterceptStudyLogic(const v1::StudySpec& spec) {
  auto logic = std::make_unique<InterceptStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

SCANCOV_REGISTER_STUDY_LOGIC(intercept_calibration, &CreateInterceptStudyLogic);

}  // namespace scancov::aggregator
