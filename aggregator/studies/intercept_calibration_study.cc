// Federated calibration of a published model's intercept (the ScanCov paper published its
// coefficients without one): the linear predictor is kept as published (an offset) and only the
// intercept is fitted, by exact federated Newton steps on one parameter. Spec, checkpoint,
// answers and result: protocol/wire/intercept_calibration.h.
//
// Round r: every site receives the current intercept as the round's checkpoint (none in round 0:
// 0) and returns sum(y - p), sum p(1 - p), the log-likelihood and its counts
// (models/scores/intercept_calibration.h); the sum over sites is the pooled data's; the
// calibrator is replayed over the rounds' pooled summaries (deterministic, restart-safe).
#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "models/scores/intercept_calibration.h"
#include "protocol/wire/intercept_calibration.h"

namespace scancov::aggregator {
namespace {

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
  explicit InterceptStudyLogic(wire::InterceptSpec spec) : spec_(std::move(spec)) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::InterceptSpec parsed, wire::ParseInterceptSpec(spec.spec_json()));
    return std::make_unique<InterceptStudyLogic>(std::move(parsed));
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
    return Annotate(Validate(header, input),
                    absl::StrCat("intercept_calibration, site ", task.site_id));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    wire::InterceptRoundResult result;
    std::vector<scores::InterceptSiteSummary> sites;
    for (const ResultRecord& r : results) {
      absl::StatusOr<wire::InterceptSiteAnswer> a = wire::ParseInterceptSiteAnswer(r.result_json);
      SCV_RETURN_IF_ERROR(Annotate(a.status(), absl::StrCat("site ", r.site_id)));
      if (a->refused) {
        result.refused.push_back(r.site_id);
      } else {
        sites.push_back(a->summary);
      }
    }
    if (sites.empty()) return absl::FailedPreconditionError("no site could take part");
    result.pooled_summary = Pool(sites);
    SCV_ASSIGN_OR_RETURN(scores::InterceptCalibrator calibrator,
                         scores::InterceptCalibrator::Create({}));
    for (const RoundRecord& past : history) {
      absl::StatusOr<wire::InterceptRoundResult> earlier =
          wire::ParseInterceptRoundResult(past.result_json);
      if (!earlier.ok()) {
        return absl::DataLossError(
            absl::StrCat("round ", past.round, ": ", earlier.status().message()));
      }
      SCV_RETURN_IF_ERROR(calibrator.Update({earlier->pooled_summary}));
    }
    SCV_RETURN_IF_ERROR(calibrator.Update({result.pooled_summary}));
    RoundOutcome out;
    if (calibrator.converged()) {
      SCV_ASSIGN_OR_RETURN(result.fit, calibrator.Result());
      out.study_done = true;
    } else {
      out.weights = wire::InterceptToTensors(calibrator.next_intercept());
    }
    out.metrics["n"] = static_cast<double>(result.pooled_summary.num_observations);
    out.result_json = wire::ToJson(result);
    return out;
  }

 private:
  static absl::Status Validate(const v1::UploadHeader& header, const protocol::TensorSet* input) {
    SCV_ASSIGN_OR_RETURN(const double asked, wire::ParseInterceptCheckpoint(input));
    SCV_ASSIGN_OR_RETURN(const wire::InterceptSiteAnswer answer,
                         wire::ParseInterceptSiteAnswer(header.result_json()));
    if (!answer.refused && answer.summary.intercept != asked) {
      return absl::InvalidArgumentError("summary evaluated at another intercept than the task's");
    }
    return absl::OkStatus();
  }

  // The parsed spec: the aggregator needs nothing of it beyond its checks at creation (the
  // calibrator's options are the defaults), the nodes read the model, outcome and split.
  const wire::InterceptSpec spec_;
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(intercept_calibration, &InterceptStudyLogic::Create);

}  // namespace scancov::aggregator
