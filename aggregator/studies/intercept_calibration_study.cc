// Federated calibration of a published model's intercept (the ScanCov paper published its
// coefficients without one): the linear predictor is kept as published (an offset) and only the
// intercept is fitted, by exact federated Newton steps on one parameter. Spec, checkpoint,
// answers and result: protocol/wire/intercept_calibration.h.
//
// Round r: every site receives the current intercept as the round's checkpoint (none in round 0:
// 0) and returns sum(y - p), sum p(1 - p), the log-likelihood and its counts
// (models/scores/intercept_calibration.h); the sum over sites is the pooled data's; the
// calibrator is replayed over the rounds' pooled summaries (deterministic, restart-safe).
//
// Under secure aggregation (StudySpec.privacy_json "secure_aggregation") every number of an
// answer is a sum (protocol/wire/intercept_calibration.h, InterceptSumVector): the sites send
// them masked and the aggregator reads only their sum, which is the pooled summary the rounds
// above combine (CloseSecureRound). A plain answer is then refused, as a masked one is without it.
#include <algorithm>

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

// Sites' answers: the refusals listed, the others kept. InvalidArgument naming the site for a
// stored answer that does not parse (ValidateResult refuses those at upload).
absl::StatusOr<std::vector<wire::InterceptSiteAnswer>> SplitRefused(
    const std::vector<ResultRecord>& results, std::vector<std::string>& refused) {
  std::vector<wire::InterceptSiteAnswer> accepted;
  for (const ResultRecord& r : results) {
    absl::StatusOr<wire::InterceptSiteAnswer> a = wire::ParseInterceptSiteAnswer(r.result_json);
    SCV_RETURN_IF_ERROR(Annotate(a.status(), absl::StrCat("site ", r.site_id)));
    if (a->refused) {
      refused.push_back(r.site_id);
    } else {
      accepted.push_back(std::move(*a));
    }
  }
  return accepted;
}

class InterceptStudyLogic : public StudyLogic {
 public:
  InterceptStudyLogic(wire::InterceptSpec spec, bool secure)
      : spec_(std::move(spec)), secure_(secure) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::InterceptSpec parsed, wire::ParseInterceptSpec(spec.spec_json()));
    return std::make_unique<InterceptStudyLogic>(std::move(parsed),
                                                 HasSecureAggregation(spec.privacy_json()));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, input_checkpoint);
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    return Annotate(Validate(header, input, weights != nullptr),
                    absl::StrCat("intercept_calibration, site ", task.site_id));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    wire::InterceptRoundResult result;
    SCV_ASSIGN_OR_RETURN(const std::vector<wire::InterceptSiteAnswer> accepted,
                         SplitRefused(results, result.refused));
    std::vector<scores::InterceptSiteSummary> sites;
    for (const wire::InterceptSiteAnswer& a : accepted) {
      if (a.secure_sum) {
        return absl::InternalError("intercept_calibration: a masked answer in a round in clear");
      }
      sites.push_back(a.summary);
    }
    if (sites.empty()) return absl::FailedPreconditionError("no site could take part");
    result.pooled_summary = Pool(sites);
    return CloseFromPooled(std::move(result), history);
  }

  absl::StatusOr<RoundOutcome> CloseSecureRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<double>& sum, size_t summed_sites,
      const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(const double asked, wire::ParseInterceptCheckpoint(input));
    wire::InterceptRoundResult result;
    SCV_ASSIGN_OR_RETURN(const std::vector<wire::InterceptSiteAnswer> masked,
                         SplitRefused(results, result.refused));
    if (masked.size() != summed_sites ||
        std::any_of(masked.begin(), masked.end(), [](const auto& a) { return !a.secure_sum; })) {
      return absl::InternalError(absl::StrCat("intercept_calibration: ", summed_sites,
                                              " sites in the secure sum, ", masked.size(),
                                              " masked answers accepted"));
    }
    if (summed_sites == 0) return absl::FailedPreconditionError("no site could take part");
    SCV_ASSIGN_OR_RETURN(const wire::InterceptSiteAnswer pooled,
                         wire::InterceptAnswerFromSum(sum, asked));
    result.pooled_summary = pooled.summary;
    return CloseFromPooled(std::move(result), history);
  }

 private:
  // `masked`: the answer came with a masked vector (the Federation checked its layout).
  absl::Status Validate(const v1::UploadHeader& header, const protocol::TensorSet* input,
                        bool masked) const {
    SCV_ASSIGN_OR_RETURN(const double asked, wire::ParseInterceptCheckpoint(input));
    SCV_ASSIGN_OR_RETURN(const wire::InterceptSiteAnswer answer,
                         wire::ParseInterceptSiteAnswer(header.result_json()));
    SCV_RETURN_IF_ERROR(CheckUploadShape(secure_, answer.refused, answer.secure_sum, masked));
    if (!answer.refused && !answer.secure_sum && answer.summary.intercept != asked) {
      return absl::InvalidArgumentError("summary evaluated at another intercept than the task's");
    }
    return absl::OkStatus();
  }

  // The round closed from its pooled summary (the sum of the sites' answers, in clear or
  // unmasked): the calibrator replayed over the earlier rounds' pooled summaries, then this one.
  static absl::StatusOr<RoundOutcome> CloseFromPooled(wire::InterceptRoundResult result,
                                                      const std::vector<RoundRecord>& history) {
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

  // The parsed spec: the aggregator needs nothing of it beyond its checks at creation (the
  // calibrator's options are the defaults), the nodes read the model, outcome and split.
  const wire::InterceptSpec spec_;
  const bool secure_;  // under secure aggregation
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(intercept_calibration, &InterceptStudyLogic::Create);

}  // namespace scancov::aggregator
