// The segmentation kind at the aggregator: plain federated training rounds (training_rounds.h) of
// a lung or lesion segmentation network on the sites' labelled CT series
// (node/tasks/segmentation_task.cc).
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/training_rounds.h"

namespace scancov::aggregator {

SCANCOV_REGISTER_STUDY_LOGIC(segmentation, &CreateTrainingRounds);

}  // namespace scancov::aggregator
