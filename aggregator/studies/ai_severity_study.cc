// AI-severity as one federated study (after the seed's AI-severity: a CNN embeds lung-masked,
// windowed slices; embeddings pooled per scan; PCA; penalized logistic regression; the seed's two
// window settings ensembled by averaging the two models' probabilities), each step federated and
// the last two exact. The study trains M members (one per encoder config) side by side:
//
//   round 0            INIT_MODEL  each member's slice encoder (plan.model "slice_encoder"), all
//                                  from plan.seed
//   rounds 1..R        TRAIN       every member's encoder at every site, in turn on the same
//                                  scans (weak labels: the scan's outcome); the update holds all
//                                  members' tensors and is aggregated by spec.strategy
//   round R+1 (PCA)    ANALYZE     each site embeds its training scans under each member and
//                                  returns, per member, n, the sum of the embeddings and the sum
//                                  of their outer products; closing computes each member's
//                                  pooled covariance and its top K eigenvectors (exact federated
//                                  PCA) and adds them to the checkpoint
//   Newton rounds      ANALYZE     per member, penalized logistic regression of the outcome on
//                                  its K standardized components by exact federated Newton steps
//                                  (one stats::LogisticNewtonCoordinator per member, replayed
//                                  over the rounds); all members step in the same rounds, and one
//                                  that has converged waits for the others
//   final round        EVALUATE    each site (and each held-out evaluation site, on all its
//                                  scans) reports the AUC of the ensemble's CT-only probability,
//                                  the mean of the members' probabilities ("global.val_auc"),
//                                  and with several members each member's ("global.val_auc_m0")
//
// Spec, answers, round results and checkpoint layout: protocol/wire/ai_severity.h. Every
// member starts from plan.seed and trains with the same seeds, so each member is the model a
// study of that config alone would train, exactly when the members slice the scans alike (same
// slice_size, slice_spacing_mm, min_lung_fraction): a site's update counts the training slices
// of all its members, the one sample count the strategy weighs every tensor by. The PCA and
// Newton rounds are closed by ai_severity_rounds.h.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/ai_severity_rounds.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::aggregator {
namespace {

std::string Phase(uint32_t round, const StudyRecord& study,
                  const std::vector<RoundRecord>& history) {
  const uint32_t r = study.spec.rounds();
  if (round == 0) return "init";
  if (round <= r) return "train";
  if (round == r + 1) return "pca";
  if (history.empty()) return "evaluate";
  absl::StatusOr<wire::AiSeverityRound> last =
      wire::ParseAiSeverityRound(history.back().result_json);
  return last.ok() && !last->next.empty() ? last->next : "evaluate";
}

// Initial weights must hold every member's encoder under its prefix, and nothing else.
absl::Status CheckEveryMember(const wire::AiSeveritySpec& spec,
                              const protocol::TensorSet& weights) {
  std::vector<bool> seen(spec.members(), false);
  for (const protocol::Tensor& t : weights.tensors()) {
    const int m = wire::AiSeverityMemberOf(t.name, spec.members());
    if (m < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("initial weights: tensor '", t.name, "' belongs to no member"));
    }
    seen[m] = true;
  }
  for (int m = 0; m < spec.members(); ++m) {
    if (!seen[m]) {
      return absl::InvalidArgumentError(absl::StrCat("initial weights: no tensor of member ", m));
    }
  }
  return absl::OkStatus();
}

class AiSeverityStudy : public StudyLogic {
 public:
  explicit AiSeverityStudy(wire::AiSeveritySpec spec) : spec_(std::move(spec)) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    if (spec.rounds() < 1) return absl::InvalidArgumentError("study spec: rounds must be >= 1");
    SCV_ASSIGN_OR_RETURN(wire::AiSeveritySpec parsed, wire::ParseAiSeveritySpec(spec.spec_json()));
    SCV_RETURN_IF_ERROR(MakeStrategy(spec.strategy()).status());
    return std::make_unique<AiSeverityStudy>(std::move(parsed));
  }

  bool IsInitRound(uint32_t round) const override { return round == 0; }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                    const std::string& input,
                                    const std::vector<RoundRecord>& history) const override {
    const std::string phase = Phase(round, study, history);
    if (phase == "init") {
      TaskRecord t;
      t.task_id = absl::StrCat(study.study_id, "/r0/init");
      t.study_id = study.study_id;
      t.kind = v1::TASK_KIND_INIT_MODEL;
      return {t};
    }
    const v1::TaskKind kind = phase == "train"      ? v1::TASK_KIND_TRAIN
                              : phase == "evaluate" ? v1::TASK_KIND_EVALUATE
                                                    : v1::TASK_KIND_ANALYZE;
    return TasksPerSite(study, round, kind, input, phase == "evaluate");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet* input) const override {
    for (const auto& [name, value] : header.metrics()) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat("metric '", name, "' is not finite"));
      }
    }
    if (task.kind == v1::TASK_KIND_INIT_MODEL || task.kind == v1::TASK_KIND_TRAIN) {
      if (weights == nullptr) return absl::InvalidArgumentError("result without weights");
      if (task.kind == v1::TASK_KIND_TRAIN && input != nullptr) {
        SCV_RETURN_IF_ERROR(Annotate(input->CheckSameLayout(*weights), "update"));
      }
      return Annotate(protocol::CheckAllFinite(*weights), "update");
    }
    if (weights != nullptr) return absl::InvalidArgumentError("this result carries no weights");
    if (task.kind != v1::TASK_KIND_ANALYZE) return absl::OkStatus();
    SCV_ASSIGN_OR_RETURN(wire::AiSeverityAnswer answer,
                         wire::ParseAiSeverityAnswer(header.result_json(), spec_.members()));
    // The round's phase follows from its checkpoint: the PCA round's has no head yet.
    if (answer.status != "ok" || input == nullptr) return absl::OkStatus();
    const bool pca =
        input->Find(wire::AiSeverityMemberPrefix(0) + wire::kAiSeverityPcaMean) == nullptr;
    if (answer.phase != (pca ? "pca" : "newton")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "result_json: a ", answer.phase, " answer in a ", pca ? "pca" : "newton", " round"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    const std::string phase = Phase(round, study, history);
    RoundOutcome out;
    out.metrics = CombineMetrics(results);
    if (phase == "init") {
      if (results.empty() || !results[0].weights) {
        return absl::FailedPreconditionError("round 0 closed without initial weights");
      }
      SCV_RETURN_IF_ERROR(CheckEveryMember(spec_, *results[0].weights));
      out.weights = *results[0].weights;
      return out;
    }
    if (input == nullptr) return absl::FailedPreconditionError("round without a checkpoint");
    if (phase == "train") {
      SCV_ASSIGN_OR_RETURN(std::unique_ptr<AggregationStrategy> strategy,
                           MakeStrategy(study.spec.strategy()));
      std::vector<ClientUpdate> updates;
      for (const ResultRecord& r : results) {
        updates.push_back({r.site_id, r.num_samples, r.weights ? &*r.weights : nullptr});
      }
      SCV_ASSIGN_OR_RETURN(StrategyStep next, strategy->Aggregate(*input, updates));
      out.weights = std::move(next.global);
      return out;
    }
    if (phase == "pca") return CloseAiSeverityPca(spec_, *input, results);
    if (phase == "newton") return CloseAiSeverityNewton(spec_, *input, results, history);
    out.study_done = true;  // evaluate
    wire::AiSeverityRound evaluated;
    evaluated.phase = "evaluate";
    evaluated.members = spec_.members();
    out.result_json = wire::ToJson(evaluated);
    return out;
  }

 private:
  const wire::AiSeveritySpec spec_;
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(ai_severity, &AiSeverityStudy::Create);

}  // namespace scancov::aggregator
