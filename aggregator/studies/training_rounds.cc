#include "aggregator/studies/training_rounds.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/update_validator.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

absl::Status CheckMetrics(const v1::UploadHeader& header) {
  for (const auto& [name, value] : header.metrics()) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("metric '", name, "' is not finite"));
    }
  }
  return absl::OkStatus();
}

class TrainingStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) {
    if (spec.rounds() < 1 || spec.rounds() > 10000) {
      return absl::InvalidArgumentError("study spec: rounds must be in 1..10000");
    }
    if (spec.plan().model().empty()) {
      return absl::InvalidArgumentError("study spec: plan.model is required");
    }
    if (spec.plan().local_epochs() < 1) {
      return absl::InvalidArgumentError("study spec: plan.local_epochs must be >= 1");
    }
    if (!(spec.plan().learning_rate() > 0)) {
      return absl::InvalidArgumentError("study spec: plan.learning_rate must be > 0");
    }
    SCV_ASSIGN_OR_RETURN(strategy_, MakeStrategy(spec.strategy()));
    rounds_ = spec.rounds();
    return absl::OkStatus();
  }

  bool IsInitRound(uint32_t round) const override { return round == 0; }
  bool StartsFromUploadedModel() const override { return true; }

  // Training rounds fold the sites' models in as they arrive (the federation runs the strategy).
  const AggregationStrategy* RoundStrategy(uint32_t round) const override {
    return round >= 1 && round <= rounds_ ? strategy_.get() : nullptr;
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint,
                                    const std::vector<RoundRecord>& history) const override {
    if (round > 0) {
      const bool evaluate = round > study.spec.rounds();  // the final round adds held-out sites
      return TasksPerSite(study, round, evaluate ? v1::TASK_KIND_EVALUATE : v1::TASK_KIND_TRAIN,
                          input_checkpoint, evaluate);
    }
    TaskRecord t;
    t.task_id = absl::StrCat(study.study_id, "/r0/init");
    t.study_id = study.study_id;
    t.kind = v1::TASK_KIND_INIT_MODEL;
    return {t};
  }

  absl::Status ValidateStreamedResult(const TaskRecord& task,
                                      const v1::UploadHeader& header) const override {
    SCV_RETURN_IF_ERROR(CheckMetrics(header));
    if (task.kind != v1::TASK_KIND_TRAIN) {
      return absl::InvalidArgumentError("only TRAIN results are folded into a round's model");
    }
    if (header.num_samples() == 0) {
      return absl::InvalidArgumentError("update: sample count must be > 0");
    }
    return absl::OkStatus();
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    SCV_RETURN_IF_ERROR(CheckMetrics(header));
    switch (task.kind) {
      case v1::TASK_KIND_INIT_MODEL:
        if (weights == nullptr) return absl::InvalidArgumentError("INIT result without weights");
        if (weights->empty()) return absl::InvalidArgumentError("update: no tensors");
        return Annotate(protocol::CheckAllFinite(*weights), "update");
      case v1::TASK_KIND_TRAIN:
        if (weights == nullptr) return absl::InvalidArgumentError("TRAIN result without weights");
        return ValidateUpdate(input, *weights, header.num_samples());
      case v1::TASK_KIND_EVALUATE:
        if (weights != nullptr) {
          return absl::InvalidArgumentError("EVALUATE result must not carry weights");
        }
        return absl::OkStatus();
      default:
        return absl::InvalidArgumentError("unexpected task kind for a training study");
    }
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    RoundOutcome out;
    out.metrics = CombineMetrics(results);
    if (round == 0) {
      if (results.empty() || !results[0].weights) {
        return absl::FailedPreconditionError("round 0 closed without initial weights");
      }
      out.weights = *results[0].weights;
      return out;
    }
    if (round > study.spec.rounds()) {
      out.study_done = true;
      return out;
    }
    // A training round: the federation has folded the updates in with RoundStrategy's
    // strategy and sets the new model; only the metrics are combined here.
    return out;
  }

 private:
  std::unique_ptr<AggregationStrategy> strategy_;
  uint32_t rounds_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateTrainingRounds(const v1::StudySpec& spec) {
  auto logic = std::make_unique<TrainingStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

}  // namespace scancov::aggregator
