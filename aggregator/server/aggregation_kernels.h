// Typed loops over the little-endian bytes of a tensor, shared by the aggregation strategies:
// widening into double, folding into a double accumulator, narrowing back to a dtype, finiteness
// and squared distances.
//
// Each loop is a template over the element type, dispatched once per call on the dtype, so there
// is no per-element indirect call and no temporary vector per tensor; the float32/float64/bfloat16
// and integer loops are vectorised by the compiler (the .cc is built with -O3 -fopenmp-simd).
// float16 is read through a 64K-entry table. Narrowing rounds like protocol::FromDoubles: floats
// to nearest even (through float32 for the 16-bit types), integers to nearest (half away from
// zero), bool as value >= 0.5.
//
// Long ranges are split over threads (ParallelFor): a range is split only when each thread gets
// at least kMinElementsPerThread elements, so small tensors stay on the calling thread. The thread
// count is process-wide (SetThreads). All functions are thread-safe; the caller owns every buffer.
#ifndef SCANCOV_AGGREGATOR_AGGREGATION_KERNELS_H_
#define SCANCOV_AGGREGATOR_AGGREGATION_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "protocol/tensor_set.h"

namespace scancov::aggregator::kernels {

inline constexpr size_t kMinElementsPerThread = size_t{1} << 18;

// A zeroed, 64-byte aligned block of memory for accumulators and held updates, not copyable.
// Blocks of 2 MiB or more are 2 MiB aligned and advised as transparent huge pages (Linux
// madvise), so that a fresh block costs a few page faults instead of one per 4 KiB: on the 2-core
// VM, 5 ms instead of 190 ms for the 61 MB accumulator of a 30 MB float32 model. Throws
// std::bad_alloc like std::vector when memory is exhausted.
class Buffer {
 public:
  explicit Buffer(size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // The block as doubles (size() / 8 of them).
  double* doubles() { return reinterpret_cast<double*>(data_); }
  const double* doubles() const { return reinterpret_cast<const double*>(data_); }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

// Threads the kernels may use: n >= 1, or 0 for std::thread::hardware_concurrency() (default).
void SetThreads(int threads);
int Threads();

// Calls fn(begin, end) on disjoint ranges that cover [0, n), in parallel when n is long enough
// and more than one thread is configured (the calling thread runs one range); returns when all
// are done. If a thread cannot be started its range runs on the calling thread.
void ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn);

// acc[i] += weight * x[i] for the n elements of `dtype` at `src`. Returns false if some x[i] is
// not finite (acc is then meaningless).
bool AccumulateScaled(protocol::DType dtype, const char* src, size_t n, double weight, double* acc);

// out[i] = x[i]. Returns false if some x[i] is not finite.
bool Widen(protocol::DType dtype, const char* src, size_t n, double* out);

// true if every element of `src` is finite (a vectorised reduction; integers always are).
bool AllFinite(protocol::DType dtype, const char* src, size_t n);

// Index of the first non-finite element of `src`, or n (integers are always finite).
size_t FirstNonFinite(protocol::DType dtype, const char* src, size_t n);

// dst (n elements of `dtype`) = values[i] / divisor, narrowed.
void NarrowDivided(const double* values, size_t n, double divisor, protocol::DType dtype,
                   char* dst);

// Sum over i < n of (a[i] - b[i])^2, in double, on the calling thread (callers split long ranges).
double SquaredDistance(protocol::DType dtype, const char* a, const char* b, size_t n);

}  // namespace scancov::aggregator::kernels

#endif  // SCANCOV_AGGREGATOR_AGGREGATION_KERNELS_H_
