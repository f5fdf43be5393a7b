// The tabular_training kind on the wire: a small LibTorch model (StudySpec.plan.model) trained by
// federated rounds (aggregator/studies/training_rounds.h) on the sites' admission rows
// (node/tasks/tabular_training_task.cc).
//
// Spec (StudySpec.spec_json), read by the nodes:
//   {"task": "tabular_training",                  // optional
//    "features": [...],                            // protocol/wire/tabular_features.h
//    "outcome": "severe", "validation_fraction": 0.2,       // one of kValidationFractions
//    "min_cell_count": 10,                                 // optional; may only tighten the
//                                                          // site's (privacy/release_policy.h)
//    "model_config": {"hidden": [16], "dropout": 0.1}}
// The aggregator's rounds read StudySpec's rounds, plan and strategy only.
//
// A site's answer: no result_json; the weights (INIT_MODEL and TRAIN: the network's own named
// tensors, so the checkpoint has no names of its own here) and the metrics below. TRAIN first
// evaluates the received global model on the site's validation split (the kGlobal* metrics),
// then trains it (the kLocal* metrics); EVALUATE reports the kGlobal* metrics only. The
// validation metrics leave only when the split holds at least the effective minimum count of
// patients, events and non-events; otherwise none of them does, and kValWithheld = 1 says so
// (summed over sites: how many withheld). The
// combined result is the metrics combined over sites (round_helpers.h CombineMetrics); there is
// no result_json.
//
// Thread safety: pure functions.
#ifndef SCANCOV_PROTOCOL_WIRE_TABULAR_TRAINING_H_
#define SCANCOV_PROTOCOL_WIRE_TABULAR_TRAINING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/wire/tabular_features.h"

namespace scancov::wire {

inline constexpr char kGlobalValLoss[] = "global.val_loss";
inline constexpr char kGlobalValAuc[] = "global.val_auc";  // absent with one class only
inline constexpr char kGlobalValAccuracy[] = "global.val_accuracy";
inline constexpr char kGlobalValRows[] = "global.n_val";
inline constexpr char kLocalTrainLossStart[] = "local.train_loss_start";
inline constexpr char kLocalTrainLossEnd[] = "local.train_loss_end";
// 1 when the site withheld its validation metrics (too few patients, events or non-events).
inline constexpr char kValWithheld[] = "local.n_val_withheld";

// The validation fractions a study may ask for. A fixed menu rather than any number in [0, 1):
// the coordinator cannot tune the split's size to a site's cohort (with the minimum count
// rule at the node, issue 12).
inline constexpr double kValidationFractions[] = {0.0, 0.1, 0.2, 0.25, 0.3};

struct TabularTrainingSpec {
  std::vector<FeatureSpec> features;
  std::string outcome;
  double validation_fraction = 0.2;
  int min_cell_count = 0;  // the study's minimum count (0: the site's alone)
  // The network's config: the spec's "model_config" with "input_dim" (the number of features)
  // filled in by Parse.
  std::string model_config_json = "{}";
};

// InvalidArgument naming the field: not an object, "task" naming another kind, no or malformed
// features (tabular_features.h), no outcome, validation_fraction not one of
// kValidationFractions, min_cell_count outside 0..100000, model_config not an object.
absl::StatusOr<TabularTrainingSpec> ParseTabularTrainingSpec(const std::string& spec_json);
std::string ToJson(const TabularTrainingSpec& spec);

}  // namespace scancov::wire

#endif  // SCANCOV_PROTOCOL_WIRE_TABULAR_TRAINING_H_
