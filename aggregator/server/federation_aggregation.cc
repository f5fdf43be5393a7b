// Federation: streamed rounds (federation.h, StudyLogic::RoundStrategy). Each accepted update is
// folded into the round's running aggregate as it arrives; at the close the aggregate (or, after
// a restart, one rebuilt from the stored uploads) gives the next model and the strategy's state.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "aggregator/server/federation.h"
#include "core/status_macros.h"

namespace scancov::aggregator {

void Federation::FoldUpdate(const StudyRecord& study, const AggregationStrategy& strategy,
                            const TaskRecord& task, const ResultRecord& result,
                            const EncodedCheckpoint& input) {
  Aggregation& agg = aggregations_[study.study_id];
  if (agg.accumulator == nullptr || agg.round != task.round) {
    // Start a running aggregate only with the round's first result; otherwise (after a restart)
    // the round's close rebuilds it from the store.
    absl::StatusOr<std::vector<TaskRecord>> tasks = store_->ListTasks(study.study_id, task.round);
    const bool first = tasks.ok() && std::none_of(tasks->begin(), tasks->end(), [&](auto& t) {
                         return t.state == kTaskDone && t.task_id != task.task_id;
                       });
    absl::StatusOr<protocol::TensorSet> layout =
        first ? input.Decode() : absl::StatusOr<protocol::TensorSet>(absl::CancelledError(""));
    if (!layout.ok()) {
      aggregations_.erase(study.study_id);
      return;
    }
    agg = Aggregation{
        task.round, strategy.Begin(&strategy == &ring_sum_ ? RingLayout(*layout) : *layout), {}};
  }
  if (options_.before_fold) options_.before_fold(task.task_id);
  const absl::Status folded = FoldStored(*agg.accumulator, result);
  if (!folded.ok()) {
    spdlog::warn("study '{}': update of task '{}' not folded now ({}); the round's close will",
                 study.study_id, task.task_id, std::string(folded.message()));
    aggregations_.erase(study.study_id);
    return;
  }
  agg.folded.insert(task.task_id);
}

absl::StatusOr<protocol::TensorSet> Federation::FinishStreamedRound(
    const StudyRecord& study, const AggregationStrategy& strategy, uint32_t round,
    const std::vector<ResultRecord>& results, const std::string& input_id,
    const protocol::TensorSet* input) {
  std::optional<protocol::TensorSet> decoded;
  auto input_model = [&]() -> absl::StatusOr<const protocol::TensorSet*> {
    if (input != nullptr) return input;
    if (!decoded) {
      SCV_ASSIGN_OR_RETURN(std::shared_ptr<const EncodedCheckpoint> encoded,
                           CachedCheckpoint(input_id));
      SCV_ASSIGN_OR_RETURN(decoded, encoded->Decode());
    }
    return &*decoded;
  };
  std::set<std::string> accepted;
  for (const ResultRecord& r : results) accepted.insert(r.task_id);
  auto it = aggregations_.find(study.study_id);
  std::unique_ptr<RoundAccumulator> accumulator;
  if (it != aggregations_.end() && it->second.round == round && it->second.folded == accepted) {
    accumulator = std::move(it->second.accumulator);
  } else {
    // Rebuild from the store, one update in memory at a time, in the order they were accepted.
    spdlog::info("study '{}': round {}: folding {} stored updates", study.study_id, round,
                 results.size());
    std::vector<const ResultRecord*> ordered;
    for (const ResultRecord& r : results) ordered.push_back(&r);
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
      return a->received_unix < b->received_unix;
    });
    SCV_ASSIGN_OR_RETURN(const protocol::TensorSet* layout, input_model());
    accumulator = strategy.Begin(&strategy == &ring_sum_ ? RingLayout(*layout) : *layout);
    if (!strategy.NeedsGlobal()) decoded.reset();  // the layout was all it was needed for
    for (const ResultRecord* r : ordered) SCV_RETURN_IF_ERROR(FoldStored(*accumulator, *r));
  }
  StrategyState state;
  if (round > 1) {
    absl::StatusOr<protocol::TensorSet> previous =
        store_->GetCheckpoint(absl::StrCat(study.study_id, "/s", round - 1));
    if (previous.ok()) {
      state = std::move(*previous);
    } else if (previous.status().code() != absl::StatusCode::kNotFound) {
      return previous.status();
    }
  }
  const protocol::TensorSet none;
  const protocol::TensorSet* global = &none;
  if (strategy.NeedsGlobal()) {
    SCV_ASSIGN_OR_RETURN(global, input_model());
  }
  SCV_ASSIGN_OR_RETURN(StrategyStep step, accumulator->Finish(*global, state));
  if (!step.state.empty()) {
    SCV_RETURN_IF_ERROR(store_->PutCheckpoint(absl::StrCat(study.study_id, "/s", round),
                                              study.study_id, round, step.state, NowUnix()));
  }
  return std::move(step.global);
}

}  // namespace scancov::aggregator
