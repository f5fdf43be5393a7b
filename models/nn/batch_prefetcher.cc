#include "models/nn/batch_prefetcher.h"

#include <utility>

namespace scancov::nn {

BatchPrefetcher::BatchPrefetcher(int64_t count, int num_workers, int max_ahead, Producer produce)
    : count_(count), max_ahead_(max_ahead < 1 ? 1 : max_ahead), produce_(std::move(produce)) {
  for (int w = 0; w < num_workers; ++w) workers_.emplace_back([this] { Work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

void BatchPrefetcher::Work() {
  while (true) {
    int64_t index = 0;
    {
      absl::MutexLock lock(&mu_);
      // Wait for a free slot: the item to build may be at most max_ahead_ past the consumer.
      auto can_claim = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || next_to_build_ >= count_ || next_to_build_ < next_to_take_ + max_ahead_;
      };
      mu_.Await(absl::Condition(&can_claim));
      if (stop_ || next_to_build_ >= count_) return;
      index = next_to_build_++;
    }
    SegBatch batch = produce_(index);
    absl::MutexLock lock(&mu_);
    ready_.emplace(index, std::move(batch));
  }
}

SegBatch BatchPrefetcher::Next() {
  if (workers_.empty()) {
    int64_t index = 0;
    {
      absl::MutexLock lock(&mu_);
      index = next_to_take_++;
    }
    return produce_(index);
  }
  absl::MutexLock lock(&mu_);
  const int64_t index = next_to_take_;
  auto is_ready = [this, index]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_.count(index) > 0; };
  mu_.Await(absl::Condition(&is_ready));
  auto it = ready_.find(index);
  SegBatch batch = std::move(it->second);
  ready_.erase(it);
  ++next_to_take_;
  return batch;
}

}  // namespace scancov::nn
