// SeverityTaskRunner: the site's side of the AI-severity study (aggregator/ai_severity_study.cc).
// Each patient with a CT series (the one with the most slices) and a known outcome is one scan;
// its lungs come from the model-free lung mask (models/ct), so devices outside the lungs are
// masked before the encoder sees anything. Patients are split train/validation by a keyed hash
// of their pseudonym (plan.seed, spec validation_fraction); a held-out evaluation site uses all.
//
//   INIT_MODEL  the encoder initialised from plan.seed
//   TRAIN       the encoder trained on the training scans (each slice labelled with its scan's
//               outcome), plan.local_epochs / batch_size / learning_rate / proximal_mu
//   ANALYZE     without "pca.*" in the checkpoint: n, sum and sum of outer products of the
//               training scans' embeddings (for the exact federated PCA); with them: the
//               logistic gradient/information at "beta" of the standardized components
//   EVALUATE    AUC of the CT-only probability on the validation scans ("global.val_auc")
// A site below its minimum event/non-event counts answers "refused" for PCA and Newton.
#ifndef SCANCOV_NODE_SEVERITY_RUNNER_H_
#define SCANCOV_NODE_SEVERITY_RUNNER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/volume.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace SQLite {
class Database;
}

namespace scancov::node {

struct SeverityPatient {
  std::string patient_key;
  HuVolume ct;
  LabelVolume lungs;  // 0 outside, > 0 lung
  int label = -1;     // the study outcome: 1, 0, or -1 unknown
};

class SeveritySource {
 public:
  virtual ~SeveritySource() = default;
  virtual absl::StatusOr<std::vector<SeverityPatient>> Load(const std::string& outcome) = 0;
};

// Patients of the node's store: imaging store + volume cache + clinical outcome; lung masks are
// computed once per series and kept for the source's lifetime.
std::unique_ptr<SeveritySource> MakeStoreSeveritySource(SQLite::Database* db,
                                                        std::string cache_dir);

struct SeverityRunnerOptions {
  std::string site_id;
  std::string device = "auto";
  bool allow_model_weights = true;
  privacy::ReleasePolicy policy;
};

class SeverityTaskRunner : public TaskRunner {
 public:
  SeverityTaskRunner(SeveritySource* data, SeverityRunnerOptions options)
      : data_(data), options_(std::move(options)) {}
  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;

 private:
  // Embeddings of `patients` under the encoder, cached by encoder digest and patient.
  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      const protocol::TensorSet& encoder, const std::string& config,
      const std::vector<const SeverityPatient*>& patients);

  SeveritySource* data_;
  SeverityRunnerOptions options_;
  std::map<std::string, std::vector<float>> embedding_cache_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_SEVERITY_RUNNER_H_
