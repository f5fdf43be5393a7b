// BatchPrefetcher: worker threads that build numbered items (training batches) ahead of the
// consumer, which takes them strictly in order (internal to models/nn; LibTorch-free).
//
// Item i is always produce(i), whichever thread builds it, so results do not depend on the
// number of workers. At most `max_ahead` items wait built but untaken, which bounds memory.
// With 0 workers, Next() builds the item on the calling thread.
//
// Thread safety: Next() is for one consumer thread; `produce` is called concurrently from the
// workers and must be thread-safe and must not throw. The destructor stops and joins the
// workers (items not yet taken are dropped).
#ifndef SCANCOV_MODELS_NN_BATCH_PREFETCHER_H_
#define SCANCOV_MODELS_NN_BATCH_PREFETCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "models/nn/seg_batches.h"

namespace scancov::nn {

class BatchPrefetcher {
 public:
  using Producer = std::function<SegBatch(int64_t index)>;

  // Items 0 .. count-1. num_workers >= 0; max_ahead >= 1.
  BatchPrefetcher(int64_t count, int num_workers, int max_ahead, Producer produce);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next item in index order. Must be called at most `count` times.
  SegBatch Next();

 private:
  void Work();

  const int64_t count_;
  const int max_ahead_;
  const Producer produce_;
  std::vector<std::thread> workers_;

  absl::Mutex mu_;
  int64_t next_to_build_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_to_take_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int64_t, SegBatch> ready_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_BATCH_PREFETCHER_H_
