// TrainingTaskRunner: INIT_MODEL, TRAIN and EVALUATE tasks of a federated training study on the
// site's admission data (tabular models from models/nn).
//
// TRAIN first evaluates the received global model on the site's validation split, then trains it
// locally (spec and metrics: protocol/wire/tabular_training.h); num_samples is the number of
// training rows, the FedAvg weight (also under DP-SGD: the count leaves in clear, as in every
// mode, bounded below by the minimum count, and is not covered by the DP guarantee). Under
// DP-SGD (terms on the board) the training steps are private; the loss and validation metrics
// are computed as always and leave in clear (docs/privacy.md). EVALUATE reports the same global.*
// metrics with num_samples = validation rows. INIT_MODEL returns the model initialised from
// plan.seed.
//
// Disclosure control (issue 12): the minimum count is the site's, or the study's when larger
// (privacy::EffectiveMinCellCount). The validation metrics (loss, accuracy, AUC and n_val) leave
// only when the validation part holds at least that many patients, events and non-events;
// otherwise none of them does, wire::kValWithheld = 1 says so, and an EVALUATE answer counts 0
// samples. TRAIN refuses a training part below the minimum (or min_rows when larger).
//
// The local seed is derived from the study seed, the round and the site id, so a site's
// update is reproducible and sites do not share shuffling orders.
#ifndef SCANCOV_NODE_TRAINING_RUNNER_H_
#define SCANCOV_NODE_TRAINING_RUNNER_H_

#include <cstdint>
#include <string>

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "node/tasks/dp_sgd_terms.h"
#include "privacy/release_policy.h"
#include "protocol/wire/tabular_training.h"

namespace scancov::node {

struct TrainingRunnerOptions {
  std::string site_id;
  std::string device = "auto";
  bool allow_model_weights = true;  // the site's privacy policy
  int min_rows = 20;                // refuse to train on fewer rows than this
  privacy::ReleasePolicy policy;    // the site's (its minimum count)
  uint64_t split_key = 0;           // the site's (NodeContext::split_key): its validation split
  // The gate's DP-SGD terms for the running task (NodeContext::dp_sgd; may be null): TRAIN takes
  // them and, when there are some, trains with DP-SGD (models/nn/local_training.h).
  DpSgdBoard* dp_sgd = nullptr;
};

class TrainingTaskRunner : public TaskRunner {
 public:
  // `data` must outlive the runner.
  TrainingTaskRunner(DatasetSource* data, TrainingRunnerOptions options)
      : data_(data), options_(std::move(options)) {}

  absl::StatusOr<TaskOutcome> Run(const v1::Task& task, const protocol::TensorSet* global) override;
  // Reports the training's epochs and batches; stops with Cancelled once `progress` is.
  absl::StatusOr<TaskOutcome> RunTracked(const v1::Task& task, const protocol::TensorSet* global,
                                         Progress& progress) override;

 private:
  absl::StatusOr<PreparedData> Prepare(const v1::Task& task, const wire::TabularTrainingSpec& spec);
  DatasetSource* data_;
  TrainingRunnerOptions options_;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_TRAINING_RUNNER_H_
