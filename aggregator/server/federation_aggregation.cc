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

namespace {

// One update, a tensor at a time from its spooled file, or whole from memory; each tensor's
// bytes counted on `work` as they are folded (work_meter.h).
absl::Status Fold(RoundAccumulator& accumulator, const std::string& site_id, uint64_t num_samples,
                  const SpooledWeights* spooled, const protocol::TensorSet* in_memory,
                  WorkMeter& work) {
  if (spooled != nullptr) {
    SCV_RETURN_IF_ERROR(accumulator.BeginUpdate(site_id, num_samples));
    SCV_RETURN_IF_ERROR(ForEachTensor(*spooled, [&](size_t index, protocol::Tensor tensor) {
      SCV_RETURN_IF_ERROR(accumulator.AddTensor(index, tensor));
      work.Add(tensor.bytes.size());
      return absl::OkStatus();
    }));
    return accumulator.EndUpdate();
  }
  if (in_memory == nullptr) return absl::InternalError("an update without weights");
  SCV_RETURN_IF_ERROR(accumulator.Add({site_id, num_samples, in_memory}));
  for (const protocol::Tensor& t : in_memory->tensors()) work.Add(t.bytes.size());
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<Federation::Aggregation> Federation::AggregationFor(const StudyRecord& study,
                                                                    const TaskRecord& task) {
  auto it = aggregations_.find(study.study_id);
  if (it != aggregations_.end() && it->second->round == task.round) return it->second;
  // Begin a running aggregate only with the round's first result; otherwise (after a restart,
  // or a refused fold) the round's close rebuilds it from the store.
  absl::StatusOr<std::vector<TaskRecord>> tasks = store_->ListTasks(study.study_id, task.round);
  const bool first = tasks.ok() && std::none_of(tasks->begin(), tasks->end(), [&](auto& t) {
                       return t.state == kTaskDone && t.task_id != task.task_id;
                     });
  if (!first) {
    aggregations_.erase(study.study_id);
    return nullptr;
  }
  auto aggregation = std::make_shared<Aggregation>(task.round);
  aggregations_[study.study_id] = aggregation;
  return aggregation;
}

void Federation::FoldClaimed(const FoldClaim& claim, const std::string& task_id,
                             const std::string& site_id, uint64_t num_samples,
                             const ReceivedWeights& received) {
  if (options_.before_fold) options_.before_fold(task_id);
  Aggregation& agg = *claim.aggregation;
  absl::MutexLock lock(&agg.mu);
  if (agg.broken) return;
  absl::Status folded = absl::OkStatus();
  if (agg.accumulator == nullptr) {  // the round's first fold: the layout from its model
    absl::StatusOr<protocol::TensorSet> layout = claim.input->Decode();
    if (layout.ok()) {
      agg.accumulator =
          claim.strategy->Begin(claim.strategy == &ring_sum_ ? RingLayout(*layout) : *layout);
    } else {
      folded = layout.status();
    }
  }
  if (folded.ok()) {
    folded = Fold(*agg.accumulator, site_id, num_samples,
                  received.spooled ? &*received.spooled : nullptr,
                  received.in_memory ? &*received.in_memory : nullptr, work_);
  }
  if (!folded.ok()) {
    spdlog::warn("study '{}': update of task '{}' not folded now ({}); the round's close will",
                 claim.study_id, task_id, std::string(folded.message()));
    agg.broken = true;
    agg.accumulator.reset();
    return;
  }
  agg.folded.insert(task_id);
}

absl::Status Federation::FoldStored(RoundAccumulator& accumulator, const ResultRecord& result) {
  if (!result.weights_path.empty()) {
    const SpooledWeights spooled{result.weights_path, result.weights_manifest,
                                 result.weights_sha256, result.weights_manifest.total_bytes()};
    return Fold(accumulator, result.site_id, result.num_samples, &spooled, nullptr, work_);
  }
  if (result.weights) {
    return Fold(accumulator, result.site_id, result.num_samples, nullptr, &*result.weights, work_);
  }
  SCV_ASSIGN_OR_RETURN(std::optional<ResultRecord> full, store_->GetResult(result.task_id));
  if (!full || !full->weights) {
    return absl::DataLossError(absl::StrCat("the weights of task '", result.task_id, "' are gone"));
  }
  return Fold(accumulator, full->site_id, full->num_samples, nullptr, &*full->weights, work_);
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
  std::unique_ptr<RoundAccumulator> accumulator;
  auto it = aggregations_.find(study.study_id);
  if (it != aggregations_.end() && it->second->round == round) {
    // No fold of the study is in flight (MaybeCloseRound waits for them): uncontended.
    Aggregation& agg = *it->second;
    absl::MutexLock lock(&agg.mu);
    if (!agg.broken && agg.folded == accepted) accumulator = std::move(agg.accumulator);
  }
  if (accumulator == nullptr) {
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
  for (const protocol::Tensor& t : step.global.tensors()) work_.Add(t.bytes.size());
  if (!step.state.empty()) {
    SCV_RETURN_IF_ERROR(store_->PutCheckpoint(absl::StrCat(study.study_id, "/s", round),
                                              study.study_id, round, step.state, NowUnix()));
  }
  return std::move(step.global);
}

}  // namespace scancov::aggregator
