// The site's side of the federated multivariable model selection
// (aggregator/studies/model_selection_study.cc, models/scores/selection_driver.h; spec, requests
// and answers in protocol/wire/model_selection.h): the site's rows of the study's variables (raw
// canonical units, missing as missing: imputation happens inside the model), its own stratified
// folds, and per round the aggregates the round's checkpoint asks for (per-part sums, squared
// deviations, or logistic summaries and held-out AUCs of every requested model). No row, no
// individual value and no patient key leaves the site.
//
// A variable observed in some but fewer than the minimum cell count of a fold's rows (or of a
// training part's) is treated as missing at this site, in every round, and named under
// "suppressed" (scores::SelectionSite::Create).
//
// The site answers "refused" (every round, so it simply takes no part) when its release policy
// does not allow one of the variables, or when it has fewer events or non-events than its
// minimum cell count or than the number of folds, or when one of its held-out folds has fewer
// events or non-events than the minimum cell count (a fold's AUC and pairs would describe a
// handful of patients).
#ifndef SCANCOV_NODE_FEDERATED_SELECTION_H_
#define SCANCOV_NODE_FEDERATED_SELECTION_H_

#include <string>

#include "node/tabular_features.h"
#include "node/task_runner.h"
#include "privacy/release_policy.h"

namespace scancov::node {

// `request`: the round's checkpoint (null in round 0, the sums request).
absl::StatusOr<TaskOutcome> RunModelSelection(const v1::Task& task,
                                              const protocol::TensorSet* request,
                                              DatasetSource& data,
                                              const privacy::ReleasePolicy& policy);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_FEDERATED_SELECTION_H_
