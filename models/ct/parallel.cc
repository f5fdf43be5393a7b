#include "models/ct/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace scancov::ct {

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hw, 1, 16);
}

void ParallelFor(int begin, int end, int threads, const std::function<void(int lo, int hi)>& fn) {
  const int n = end - begin;
  if (n <= 0) return;
  const int workers = std::min(ResolveThreads(threads), n);
  if (workers <= 1) {
    fn(begin, end);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  const int chunk = (n + workers - 1) / workers;
  for (int w = 1; w < workers; ++w) {
    const int lo = begin + w * chunk;
    const int hi = std::min(end, lo + chunk);
    if (lo < hi) pool.emplace_back(fn, lo, hi);
  }
  fn(begin, std::min(end, begin + chunk));
  for (std::thread& t : pool) t.join();
}

}  // namespace scancov::ct
