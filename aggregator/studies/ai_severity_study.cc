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
// spec_json: {"task": "ai_severity", "outcome": "severe", "encoders": [{...slice encoder config
//   A...}, {...config B...}], "pca_components": 40, "l2": 1.0, "max_newton": 30,
//   "validation_fraction": 0.25}. "encoder": {...} (one config) is an ensemble of one; neither
//   gives one member with the default config. The seed's ensemble is
//   "encoders": [{"window": "single"}, {"window": "three"}].
//
// Checkpoint: member m's tensors are named "m<m>/<name>": its encoder's parameters and buffers,
// then "m<m>/pca.mean", "m<m>/pca.components", "m<m>/pca.scale" and "m<m>/beta". Every member
// starts from plan.seed and trains with the same seeds, so each member is the model a study of
// that config alone would train, exactly when the members slice the scans alike (same
// slice_size, slice_spacing_mm, min_lung_fraction): a site's update counts the training slices of
// all its members, the one sample count the strategy weighs every tensor by. Metrics of one
// member carry the suffix "_m<m>" when there are several ("pca.explained_variance_m1").
// Each round's result_json says which phase comes next ("next": "newton" | "evaluate") and holds
// one entry per member under "members" (PCA: components and explained variance; Newton: the
// pooled summary, the fit with its coefficients once converged). The PCA and Newton rounds are
// closed by ai_severity_rounds.h.
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "aggregator/server/strategy.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/ai_severity_rounds.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

using json = nlohmann::json;
using Spec = AiSeveritySpec;

std::string Phase(uint32_t round, const StudyRecord& study,
                  const std::vector<RoundRecord>& history) {
  const uint32_t r = study.spec.rounds();
  if (round == 0) return "init";
  if (round <= r) return "train";
  if (round == r + 1) return "pca";
  const json last =
      history.empty() ? json() : json::parse(history.back().result_json, nullptr, false);
  return last.is_object() ? last.value("next", std::string("evaluate")) : "evaluate";
}

// Initial weights must hold every member's encoder under its prefix, and nothing else.
absl::Status CheckEveryMember(const Spec& spec, const protocol::TensorSet& weights) {
  std::vector<bool> seen(spec.members, false);
  for (const protocol::Tensor& t : weights.tensors()) {
    int m = -1;
    for (int i = 0; i < spec.members && m < 0; ++i) {
      if (t.name.rfind(AiSeverityMemberPrefix(i), 0) == 0) m = i;
    }
    if (m < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("initial weights: tensor '", t.name, "' belongs to no member"));
    }
    seen[m] = true;
  }
  for (int m = 0; m < spec.members; ++m) {
    if (!seen[m]) {
      return absl::InvalidArgumentError(absl::StrCat("initial weights: no tensor of member ", m));
    }
  }
  return absl::OkStatus();
}

class AiSeverityStudyLogic : public StudyLogic {
 public:
  absl::Status ValidateSpec(const v1::StudySpec& spec) const {
    if (spec.rounds() < 1) return absl::InvalidArgumentError("study spec: rounds must be >= 1");
    SCV_RETURN_IF_ERROR(ParseAiSeveritySpec(spec).status());
    return MakeStrategy(spec.strategy()).status();
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
    if (task.kind == v1::TASK_KIND_ANALYZE) {
      const json j = json::parse(header.result_json(), nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("status")) {
        return absl::InvalidArgumentError("result_json: not an AI-severity site result");
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t round,
                                          const protocol::TensorSet* input,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>& history) const override {
    SCV_ASSIGN_OR_RETURN(Spec spec, ParseAiSeveritySpec(study.spec));
    const std::string phase = Phase(round, study, history);
    RoundOutcome out;
    out.metrics = CombineMetrics(results);
    if (phase == "init") {
      if (results.empty() || !results[0].weights) {
        return absl::FailedPreconditionError("round 0 closed without initial weights");
      }
      SCV_RETURN_IF_ERROR(CheckEveryMember(spec, *results[0].weights));
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
      SCV_ASSIGN_OR_RETURN(protocol::TensorSet next, strategy->Aggregate(*input, updates));
      out.weights = std::move(next);
      return out;
    }
    if (phase == "pca") return CloseAiSeverityPca(spec, *input, results);
    if (phase == "newton") return CloseAiSeverityNewton(spec, *input, results, history);
    out.study_done = true;  // evaluate
    out.result_json = json{{"phase", "evaluate"}, {"members", spec.members}}.dump();
    return out;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<StudyLogic>> CreateAiSeverityStudyLogic(const v1::StudySpec& spec) {
  auto logic = std::make_unique<AiSeverityStudyLogic>();
  SCV_RETURN_IF_ERROR(logic->ValidateSpec(spec));
  return logic;
}

SCANCOV_REGISTER_STUDY_LOGIC(ai_severity, &CreateAiSeverityStudyLogic);

}  // namespace scancov::aggregator
