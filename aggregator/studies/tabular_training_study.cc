// The tabular_training kind at the aggregator: plain federated training rounds (training_rounds.h)
// of a small LibTorch model on the sites' admission data (node/tasks/tabular_training_task.cc).
// The rounds read StudySpec's rounds, plan and strategy only: spec_json
// (protocol/wire/tabular_training.h) is the nodes', which check it; studies of stand-in models
// (plan.model "toy") carry none.
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/training_rounds.h"

namespace scancov::aggregator {

SCANCOV_REGISTER_STUDY_LOGIC(tabular_training, &CreateTrainingRounds);

}  // namespace scancov::aggregator
