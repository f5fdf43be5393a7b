// What `scancov-coord export-model` and `export-checkpoint` do: a finished study's model as a
// file that bedside scoring reads (node/bedside, scancov-score).
//
// export-model: the fitted model of a logistic-regression study as a scoring file
// (scancov-score --aiscore-model): {"features": [...as in the study...], "coefficients":
// [intercept, ...], "outcome", "n", "events", "sites", "source", "cut_points"}, and when the
// study found them the terciles of its training probabilities, "terciles": [t1, t2], with the
// 1-5 scale's "five_level_cuts" (probabilities, models/scores/risk_classes.h; "cut_points" stay
// in score units). With choose_cut_points the AI-SCoRE-like classes' cut points come from counts
// (cut_points.h): an evaluation study of the fitted model on the rows of the fit, then the rule
// on its pooled ROC counts; when the released counts do not allow the rule, the seed's 23 / 45.
//
// export-checkpoint: the final model of a training study (segmentation, tabular, AI-severity
// encoder) as a checkpoint file (models/nn/checkpoint.h) for scancov-score --lung-model /
// --lesion-model: the latest global weights, the model's registry name and config from the
// study's plan, and the slice size it was trained at (spec_json "in_plane") so that scoring fits
// the CT the same way.
//
// Both print what they wrote to `out`, as scancov-coord does. Not thread-safe (one caller at a
// time per CoordinatorApi).
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_EXPORT_COMMANDS_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_EXPORT_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "core/env.h"
#include "models/nn/checkpoint.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

struct ExportModelOptions {
  std::vector<double> cut_points;  // given cut points (score units); ignored when choosing
  bool choose_cut_points = false;
  double max_low_death_fraction = 0.10;  // the rule's limit on events in the low class
  int cut_point_step = 1;                // candidate cuts every this many score points
  double timeout_s = 3600;               // waiting for the cut-point study
  Clock* clock = Clock::Real();
};

absl::Status ExportModel(CoordinatorApi& api, const std::string& study, const std::string& path,
                         const ExportModelOptions& options, std::ostream& out);

// The scoring file's JSON (above) of the finished logistic-regression study `st` with its
// coefficients `beta`; FailedPrecondition when `st` has no fit to read.
absl::StatusOr<std::string> ScoringModelJson(const v1::StudyStatus& st,
                                             const std::vector<double>& beta,
                                             const std::vector<double>& cut_points);

absl::Status ExportCheckpoint(CoordinatorApi& api, const std::string& study,
                              const std::string& path, std::ostream& out);

// upload-model: the weights of a checkpoint file (one export-checkpoint wrote, or any
// models/nn/checkpoint.h file) to the aggregator, for training studies that start from it.
// Prints the digest and the plan field that names it (TrainingPlan.initial_model_sha256): the
// sites approve that digest with the study, and train round 1 only from those weights.
absl::Status UploadModelCommand(CoordinatorApi& api, const std::string& path, std::ostream& out);

// The checkpoint of the finished training study `st` without its weights (model, config,
// in_plane), and the id of its latest checkpoint. FailedPrecondition naming the study when it
// is not a training study, not done, or has no checkpoint.
absl::StatusOr<std::pair<nn::Checkpoint, std::string>> StudyCheckpointHeader(
    const v1::StudyStatus& st);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_EXPORT_COMMANDS_H_
