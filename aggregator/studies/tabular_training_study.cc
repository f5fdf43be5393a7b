// The tabular_training kind at the aggregator: plain federated training rounds (training_rounds.h)
// of a small LibTorch model on the sites' admission data (node/tasks/tabular_training_task.cc).
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/training_rounds.h"

namespace scancov::aggregator {

SCANCOV_REGISTER_STUDY_LOGIC(tabular_training, &CreateTrainingRounds);

}  // namespace scancov::aggregator
