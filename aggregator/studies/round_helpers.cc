#include "aggregator/studies/round_helpers.h"

#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace scancov::aggregator {

std::vector<TaskRecord> TasksPerSite(const StudyRecord& study, uint32_t round, v1::TaskKind kind,
                                     const std::string& checkpoint, bool include_evaluation_sites) {
  std::vector<std::string> sites(study.spec.sites().begin(), study.spec.sites().end());
  if (include_evaluation_sites) {
    sites.insert(sites.end(), study.spec.evaluation_sites().begin(),
                 study.spec.evaluation_sites().end());
  }
  std::vector<TaskRecord> tasks;
  for (const std::string& site : sites) {
    TaskRecord t;
    t.task_id = absl::StrCat(study.study_id, "/r", round, "/", site);
    t.study_id = study.study_id;
    t.round = round;
    t.site_id = site;
    t.kind = kind;
    t.checkpoint_id = checkpoint;
    tasks.push_back(t);
  }
  return tasks;
}

Metrics CombineMetrics(const std::vector<ResultRecord>& results) {
  // Counts ("<scope>.n_*") are summed. "global.*" metrics measure the received model on each
  // site's validation split, so they are weighted by "global.n_val" when the sites report it;
  // everything else by the result's sample count (plain mean if every count is 0).
  auto is_count = [](const std::string& name) {
    const size_t dot = name.rfind('.');
    return name.compare(dot == std::string::npos ? 0 : dot + 1, 2, "n_") == 0;
  };
  double total = 0;
  for (const ResultRecord& r : results) total += static_cast<double>(r.num_samples);
  Metrics sums;
  std::map<std::string, double> weight_sums;
  for (const ResultRecord& r : results) {
    for (const auto& [name, value] : r.metrics) {
      if (is_count(name)) {
        sums[name] += value;
        continue;
      }
      double w = total > 0 ? static_cast<double>(r.num_samples) : 1.0;
      auto n_val = r.metrics.find("global.n_val");
      if (name.rfind("global.", 0) == 0 && n_val != r.metrics.end()) w = n_val->second;
      sums[name] += w * value;
      weight_sums[name] += w;
    }
  }
  for (auto& [name, sum] : sums) {
    auto w = weight_sums.find(name);
    if (w != weight_sums.end() && w->second > 0) sum /= w->second;
  }
  return sums;
}

bool HasSecureAggregation(const std::string& privacy_json) {
  if (privacy_json.empty()) return false;
  const nlohmann::json j = nlohmann::json::parse(privacy_json, nullptr, false);
  return j.is_object() && j.contains("secure_aggregation");
}

absl::Status CheckUploadShape(bool secure, bool refused, bool secure_sum, bool has_vector) {
  if (has_vector && !secure) return absl::InvalidArgumentError("ANALYZE results carry no weights");
  if (!refused && secure_sum != secure) {
    return absl::InvalidArgumentError(
        secure ? "the study is securely aggregated: an answer's numbers travel masked"
               : "a masked answer in a study without secure aggregation");
  }
  if (has_vector != (secure && !refused)) {
    return absl::InvalidArgumentError(has_vector ? "a refusal carries no masked vector"
                                                 : "a masked answer comes with its masked vector");
  }
  return absl::OkStatus();
}

}  // namespace scancov::aggregator
