// Helpers the study logics share: one task per site, the combination of per-site metrics, and
// the shape of an analysis's uploads under secure aggregation.
#ifndef SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_
#define SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
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

// Whether a study's privacy options (StudySpec.privacy_json, checked at CreateStudy) ask for
// secure aggregation (protocol/wire/secure_sum.h).
bool HasSecureAggregation(const std::string& privacy_json);

// An analysis upload's shape against its study's secure aggregation: an answer that is not a
// refusal is masked (`secure_sum`, its numbers in the masked vector) exactly when the study is
// securely aggregated, and a masked vector comes exactly with a masked answer. InvalidArgument
// saying which otherwise.
absl::Status CheckUploadShape(bool secure, bool refused, bool secure_sum, bool has_vector);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_STUDIES_ROUND_HELPERS_H_
