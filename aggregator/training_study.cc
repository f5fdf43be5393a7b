#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregator/strategy.h"
#include "aggregator/study_logic.h"
#include "aggregator/update_validator.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

class TrainingStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const override {
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
    return MakeStrategy(spec.strategy()).status();
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input_checkpoint) const override {
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

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    for (const auto& [name, value] : header.metrics()) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric '", name, "' is not finite"));
      }
    }
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
    if (input == nullptr) return absl::FailedPreconditionError("training round without a model");
    SCV_ASSIGN_OR_RETURN(std::unique_ptr<AggregationStrategy> strategy,
                         MakeStrategy(study.spec.strategy()));
    std::vector<ClientUpdate> updates;
    for (const ResultRecord& r : results) {
      updates.push_back({r.site_id, r.num_samples, r.weights ? &*r.weights : nullptr});
    }
    SCV_ASSIGN_OR_RETURN(protocol::TensorSet next, strategy->Aggregate(*input, updates));
    out.weights = std::move(next);
    return out;
  }
};

}  // namespace

std::vector<TaskRecord> TasksPerSite(const StudyRecord& study, uint32_t round, v1::TaskKind kind,
                                     const std::string& checkpoint, bool include_evaluation_sites) {
  std::vector<std::string> sites(study.spec.sites().begin(), study.spec.sites().end());
  if (include_evaluation_sites) {
    sites.insert(sites.end(), study.spec.evaluation_sites().begin(),
                 study.spec.evaluation_sites().end());
  }
  std::vector<TaskRecord> tasks;
  for (const std::string& site : sites) {
    TaskRecord t;
    t.task_id = absl::StrCat(study.study_id, "/r", round, "/", site);
    t.study_id = study.study_id;
    t.round = round;
    t.site_id = site;
    t.kind = kind;
    t.checkpoint_id = checkpoint;
    tasks.push_back(t);
  }
  return tasks;
}

Metrics CombineMetrics(const std::vector<ResultRecord>& results) {
  // Counts ("<scope>.n_*") are summed. "global.*" metrics measure the received model on each
  // site's validation split, so they are weighted by "global.n_val" when the sites report it;
  // everything else by the result's sample count (plain mean if every count is 0).
  auto is_count = [](const std::string& name) {
    const size_t dot = name.rfind('.');
    return name.compare(dot == std::string::npos ? 0 : dot + 1, 2, "n_") == 0;
  };
  double total = 0;
  for (const ResultRecord& r : results) total += static_cast<double>(r.num_samples);
  Metrics sums;
  std::map<std::string, double> weight_sums;
  for (const ResultRecord& r : results) {
    for (const auto& [name, value] : r.metrics) {
      if (is_count(name)) {
        sums[name] += value;
        continue;
      }
      double w = total > 0 ? static_cast<double>(r.num_samples) : 1.0;
      auto n_val = r.metrics.find("global.n_val");
      if (name.rfind("global.", 0) == 0 && n_val != r.metrics.end()) w = n_val->second;
      sums[name] += w * value;
      weight_sums[name] += w;
    }
  }
  for (auto& [name, sum] : sums) {
    auto w = weight_sums.find(name);
    if (w != weight_sums.end() && w->second > 0) sum /= w->second;
  }
  return sums;
}

std::unique_ptr<StudyLogic> MakeTrainingStudyLogic() {
  return std::make_unique<TrainingStudyLogic>();
}

}  // namespace scancov::aggregator
