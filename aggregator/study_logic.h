// StudyLogic: what one kind of study does round by round. The Federation owns the protocol
// (who may call what, idempotency, deadlines, persistence); a StudyLogic only decides which
// tasks a round has, whether an upload is acceptable, and what a closed round produces.
#ifndef SCANCOV_AGGREGATOR_STUDY_LOGIC_H_
#define SCANCOV_AGGREGATOR_STUDY_LOGIC_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/store.h"
#include "protocol/scancov.pb.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator {

struct RoundOutcome {
  std::optional<protocol::TensorSet> weights;  // the new global model, if the round makes one
  Metrics metrics;                             // combined over sites
  std::string result_json;                     // combined statistics, if any
  bool study_done = false;
};

// A round's result_json may keep, under this top-level key, state the study logic needs only
// to replay its rounds after a restart (e.g. model selection's pooled answers, megabytes per
// round). The federation stores it with the round but leaves it out of the StudyStatus sent to
// the coordinator.
inline constexpr char kReplayKey[] = "_replay";

class StudyLogic {
 public:
  virtual ~StudyLogic() = default;

  virtual absl::Status ValidateSpec(const v1::StudySpec& spec) const = 0;
  // Tasks of round `round` (site_id empty = the first study site to pull takes it).
  virtual std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                            const std::string& input_checkpoint) const = 0;
  // The same with the study's closed rounds so far (oldest first), for logic whose next phase
  // depends on what the last round produced. By default the history is not needed.
  virtual std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round,
                                            const std::string& input_checkpoint,
                                            const std::vector<RoundRecord>& history) const {
    return PlanRound(study, round, input_checkpoint);
  }
  // Checks an upload for `task` against the round's input model (null if none).
  virtual absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                                      const protocol::TensorSet* weights,
                                      const protocol::TensorSet* input) const = 0;
  // Combines a round's accepted results. `history` holds the study's earlier, closed rounds
  // (oldest first), for logic that iterates (e.g. federated Newton steps).
  virtual absl::StatusOr<RoundOutcome> CloseRound(
      const StudyRecord& study, uint32_t round, const protocol::TensorSet* input,
      const std::vector<ResultRecord>& results, const std::vector<RoundRecord>& history) const = 0;
};

// Federated training: round 0 initialises the model at one site (INIT_MODEL); rounds
// 1..spec.rounds train at every site (TRAIN) and aggregate with spec.strategy; a final round
// evaluates the last global model at every site (EVALUATE), then the study is done.
std::unique_ptr<StudyLogic> MakeTrainingStudyLogic();

// Federated analysis: one round of ANALYZE tasks (per-site statistics only); closing it
// combines them (see association_table.h) into the round's result_json; then the study is done.
std::unique_ptr<StudyLogic> MakeAnalysisStudyLogic();

// Exact federated logistic regression by Newton steps (see logistic_study.cc): each round the
// sites evaluate gradient and information at the current coefficients (a checkpoint holding
// "beta"); closing the round sums them and takes the step; the last round holds the fit.
std::unique_ptr<StudyLogic> MakeLogisticStudyLogic();

// External validation: every site scores its patients with the study's models; per-site AUCs
// with DeLong CIs, pooled confusion counts, meta-analytic AUC, KM by risk group, log-rank.
std::unique_ptr<StudyLogic> MakeModelEvaluationStudyLogic();

// AI-severity: the slice encoder trained federated, exact federated PCA of the scan
// embeddings, penalized logistic regression by federated Newton steps, per-site evaluation
// (ai_severity_study.cc). A training study whose spec_json says "task": "ai_severity".
std::unique_ptr<StudyLogic> MakeAiSeverityStudyLogic();

// Federated calibration of a published model's intercept, the rest of its linear predictor kept
// as published (intercept_study.cc).
std::unique_ptr<StudyLogic> MakeInterceptStudyLogic();

// The seed's multivariable pipeline federated: folds inside each site, per-fold standardisation
// from pooled sums, every candidate x penalty x fold fitted by exact federated Newton steps at
// once, forward selection by a pair-weighted federated CV AUC with an elbow, final fit
// (selection_study.cc, models/scores/selection_driver.h). "analysis": "model_selection".
std::unique_ptr<StudyLogic> MakeSelectionStudyLogic();

// The "analysis" field of an analysis study's spec_json ("" if absent or unreadable).
std::string AnalysisName(const std::string& spec_json);

// One task of `kind` per study site (and per evaluation site when asked), task ids
// "<study>/r<round>/<site>", all reading `checkpoint`.
std::vector<TaskRecord> TasksPerSite(const StudyRecord& study, uint32_t round, v1::TaskKind kind,
                                     const std::string& checkpoint,
                                     bool include_evaluation_sites = false);

// Combines site metrics: counts ("<scope>.n_*") summed; "global.*" weighted by "global.n_val"
// when reported; others weighted by num_samples (plain mean where all counts are 0).
Metrics CombineMetrics(const std::vector<ResultRecord>& results);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDY_LOGIC_H_
