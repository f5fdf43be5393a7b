// ParallelFor: splits an index range into contiguous chunks run on short-lived std::threads.
// The imaging loops here are over slices (tens to hundreds), so a thread pool would buy little.
#ifndef SCANCOV_MODELS_CT_PARALLEL_H_
#define SCANCOV_MODELS_CT_PARALLEL_H_

#include <functional>

namespace scancov::ct {

// Worker count for `threads` (0 = hardware concurrency, at most 16; never below 1).
int ResolveThreads(int threads);

// Calls fn(lo, hi) on disjoint chunks covering [begin, end), at most ResolveThreads(threads)
// of them concurrently; returns when all are done. fn must be safe to run concurrently on
// disjoint ranges. With one worker or a short range it runs inline.
void ParallelFor(int begin, int end, int threads, const std::function<void(int lo, int hi)>& fn);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_PARALLEL_H_
