// SeverityTaskRunner: the site's side of the AI-severity study (aggregator/studies/
// ai_severity_study.cc; spec, checkpoint layout, answers and metrics: protocol/wire/
// ai_severity.h).
// Each patient with a CT series (the one with the most slices) is one scan; those with a known
// outcome are trained and validated on. Its lungs come from the model-free lung mask
// (models/ct), so devices outside the lungs are masked before the encoder sees anything. Patients
// are split train/validation by a keyed hash of their pseudonym (plan.seed, spec
// validation_fraction); a held-out evaluation site uses all.
//
// The study has one member per encoder config of the spec ("encoders": [...], or the single
// "encoder"); member m's tensors are "m<m>/..." in the checkpoint, and every task below is done
// for each member in turn:
//   INIT_MODEL  each encoder initialised from plan.seed
//   TRAIN       each encoder trained on the training scans (each slice labelled with its scan's
//               outcome), plan.local_epochs / batch_size / learning_rate / proximal_mu; the
//               sample count is the members' training slices summed
//   ANALYZE     without "pca.*" in the checkpoint: n, sum and sum of outer products of the
//               training scans' embeddings (for the exact federated PCA); with them: the
//               logistic gradient/information at "beta" of the standardized components
//               (result_json "members": one entry per member)
//   EVALUATE    AUC on the validation scans of the ensemble's CT-only probability, the mean of
//               the members' probabilities ("global.val_auc"), and with several members each
//               member's ("global.val_auc_m<m>"). With a score store, every scan of the site
//               (training, validation and unknown outcome) is then scored with the ensemble and
//               the probabilities kept there under the study's id, for later studies' variable
//               "ai_severity:<study id>" (node/ai_severity_scores.h); they never leave the site,
//               only their count ("local.n_scored"). A failure to keep them fails the task (and
//               a retry scores again), so a done evaluation means the scores are there
// Disclosure control (issue 12), with the site's minimum count, or the study's when larger
// (privacy::EffectiveMinCellCount):
//   - a site below the minimum event/non-event counts answers "refused" for PCA and Newton;
//   - a released d x d second-moment matrix (PCA: the embeddings' sum of outer products, d the
//     scan embedding's length; Newton: the (k + 1) x (k + 1) information) needs at least
//     d x min-count training patients; otherwise ANALYZE fails with FailedPrecondition (numbers
//     only, stats::CheckSecondMomentsReleasable);
//   - the validation metrics (n_val and the AUCs) leave only from at least the minimum count of
//     events and non-events; otherwise none does, wire::kAiSeverityValWithheld = 1, and the
//     EVALUATE answer counts 0 samples; local.n_scored leaves only when 0 or at least the minimum;
//   - TRAIN refuses fewer training patients than the minimum.
#ifndef SCANCOV_NODE_SEVERITY_RUNNER_H_
#define SCANCOV_NODE_SEVERITY_RUNNER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/volume.h"
#include "models/nn/severity_slices.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"
#include "protocol/wire/ai_severity.h"

namespace scancov::node {

class NodeStore;

struct SeverityPatient {
  std::string patient_key;
  // Identifies the CT (series and content): prepared slices and embeddings are cached by it, so
  // a re-imported or replaced series is prepared again.
  std::string scan_id;
  int label = -1;  // the study outcome: 1, 0, or -1 unknown
  // Reads the CT and its lung mask (0 outside, > 0 lung; the scan's label is not used). Called
  // only when the runner has no slices of this scan yet, and the volume is dropped once they are
  // prepared: a site holds the slices of its scans, never all of their volumes at once.
  std::function<absl::StatusOr<nn::SeverityScan>()> load;
};

class SeveritySource {
 public:
  virtual ~SeveritySource() = default;
  virtual absl::StatusOr<std::vector<SeverityPatient>> Load(const std::string& outcome) = 0;
};

// Patients of the node's store: imaging store + volume cache + clinical outcome; a patient's
// loader reads the cached volume and computes the model-free lung mask. The source must outlive
// the patients it returns.
std::unique_ptr<SeveritySource> MakeStoreSeveritySource(NodeStore* store, std::string cache_dir);

struct SeverityRunnerOptions {
  std::string site_id;
  std::string device = "auto";
  bool allow_model_weights = true;
  privacy::ReleasePolicy policy;
  // Where the final evaluation keeps every patient's AI-severity probability (the node's store);
  // null: not kept.
  NodeStore* score_store = nullptr;
  uint64_t split_key = 0;  // the site's (NodeContext::split_key): its validation split
};

class SeverityTaskRunner : public TaskRunner {
 public:
  SeverityTaskRunner(SeveritySource* data, SeverityRunnerOptions options)
      : data_(data), options_(std::move(options)) {}
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;
  // Reports each member's training epochs and batches; stops with Cancelled once `progress` is.
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const protocol::TensorSet* global,
                                         Progress& progress) override;

 private:
  using Patients = std::vector<const SeverityPatient*>;

  absl::StatusOr<TaskOutcome> Train(const v1::Task& task, const wire::AiSeveritySpec& spec,
                                    const Patients& train, const protocol::TensorSet& global,
                                    Progress& progress);
  absl::StatusOr<TaskOutcome> Evaluate(const wire::AiSeveritySpec& spec, const Patients& val,
                                       const protocol::TensorSet& global, int min_cell);
  // The number of patients scored and kept.
  absl::StatusOr<size_t> StoreScores(const std::string& study_id, const wire::AiSeveritySpec& spec,
                                     const Patients& patients, const protocol::TensorSet& global);
  absl::StatusOr<TaskOutcome> Analyze(const wire::AiSeveritySpec& spec, const Patients& train,
                                      const protocol::TensorSet& global, int min_cell);
  // FailedPrecondition when `train` is too few for a member's second-moment matrix (the PCA
  // sums, or the Newton step's information) to leave; checked before any embedding.
  absl::Status CheckSecondMoments(const wire::AiSeveritySpec& spec, const Patients& train,
                                  const protocol::TensorSet& global, bool pca, int min_cell) const;
  // Member m's CT-only probability for each patient (its encoder, PCA and beta).
  absl::StatusOr<std::vector<double>> Probabilities(const wire::AiSeveritySpec& spec, size_t m,
                                                    const protocol::TensorSet& global,
                                                    const Patients& patients);
  // Embeddings of `patients` under the encoder, cached by encoder digest, config and scan.
  absl::StatusOr<std::vector<std::vector<float>>> Embed(const protocol::TensorSet& encoder,
                                                        const std::string& config,
                                                        const Patients& patients);
  // Prepares the slices every member needs for each patient that has none yet (one read of its
  // CT for all members), and returns the patients whose scan could be prepared; the others are
  // left out of every step, with a warning that names no patient.
  absl::StatusOr<std::vector<const SeverityPatient*>> Prepare(
      const wire::AiSeveritySpec& spec, const std::vector<SeverityPatient>& patients);
  // The slices of `patient` under member config `config` (Prepare made them).
  const nn::SeveritySlices& Slices(const std::string& config, const SeverityPatient& patient);

  SeveritySource* data_;
  SeverityRunnerOptions options_;
  std::map<std::string, std::vector<float>> embedding_cache_;
  // (config digest, scan_id) -> the scan's slices. Memory: every prepared scan's slices per
  // member, channels x slice_size^2 x 4 bytes a slice (about 1.5 MB a scan at the default 64
  // pixels and 10 mm slices with three windows).
  std::map<std::string, nn::SeveritySlices> slice_cache_;
  std::set<std::string> unusable_;  // scan_ids that could not be read or prepared
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_SEVERITY_RUNNER_H_
