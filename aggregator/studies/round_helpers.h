// Helpers the study logics share: one task per site, and the combination of per-site metrics.
#ifndef SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_
#define SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_

#include <string>
#include <vector>

#include "aggregator/server/store.h"

namespace scancov::aggregator {

// One task of `kind` per study site (and per evaluation site when asked), task ids
// "<study>/r<round>/<site>", all reading `checkpoint`.
std::vector<TaskRecord> TasksPerSite(const StudyRecord& study, uint32_t round, v1::TaskKind kind,
                                     const std::string& checkpoint,
                                     bool include_evaluation_sites = false);

// Combines site metrics: counts ("<scope>.n_*") summed; "global.*" weighted by "global.n_val"
// when reported; others weighted by num_samples (plain mean where all counts are 0).
Metrics CombineMetrics(const std::vector<ResultRecord>& results);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_
