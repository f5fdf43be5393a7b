// Federated training rounds, shared by the training kinds whose rounds are plain FedAvg-style
// training (tabular_training, segmentation): round 0 initialises the model at one site
// (INIT_MODEL), unless the plan names a model the coordinator uploaded (the federation then
// starts the study at round 1 from it); rounds 1..spec.rounds train at every study site (TRAIN)
// and aggregate with spec.strategy; a final round evaluates the last global model at every
// site, held-out evaluation sites included (EVALUATE); then the study is done.
#ifndef SCANCOV_AGGREGATOR_STUDIES_TRAINING_ROUNDS_H_
#define SCANCOV_AGGREGATOR_STUDIES_TRAINING_ROUNDS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "aggregator/server/study_logic.h"

namespace scancov::aggregator {

// InvalidArgument for rounds outside 1..10000, no plan.model, plan.local_epochs < 1,
// plan.learning_rate <= 0 or an unknown strategy.
absl::StatusOr<std::unique_ptr<StudyLogic>> CreateTrainingRounds(const v1::StudySpec& spec);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDIES_TRAINING_ROUNDS_H_
