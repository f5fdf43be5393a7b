#include "aggregator/server/aggregation_kernels.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

namespace scancov::aggregator::kernels {
namespace {

using protocol::DType;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "tensor bytes are little-endian; big-endian hosts need byte swapping");

std::atomic<int> g_threads{0};

// Loads and stores go through memcpy: the bytes of a std::string are not objects of the element
// type, and a fixed-size memcpy compiles to one (unaligned, vectorisable) load or store.
template <typename T>
inline T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

inline float BitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline uint32_t FloatToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// IEEE half to float, exact (same conversion as protocol/tensor_set.cc).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    if (mantissa == 0) return BitsToFloat(sign);
    exponent = 127 - 15 + 1;  // subnormal: normalise
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    return BitsToFloat(sign | (exponent << 23) | ((mantissa & 0x3FFu) << 13));
  }
  if (exponent == 0x1F) return BitsToFloat(sign | 0x7F800000u | (mantissa << 13));
  return BitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

// Float to IEEE half, round to nearest even (same conversion as protocol/tensor_set.cc).
uint16_t FloatToHalf(float value) {
  const uint32_t f = FloatToBits(value);
  const uint32_t sign = (f >> 16) & 0x8000u;
  int32_t exponent = static_cast<int32_t>((f >> 23) & 0xFF) - 127 + 15;
  uint32_t mantissa = f & 0x7FFFFFu;
  if (((f >> 23) & 0xFF) == 0xFF)
    return static_cast<uint16_t>(sign | 0x7C00u | (mantissa ? 0x200u : 0u));
  if (exponent >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  if (exponent <= 0) {
    if (exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    const uint32_t rem = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  const uint32_t rem = mantissa & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

const float* HalfTable() {
  static const std::vector<float>* table = [] {
    auto* t = new std::vector<float>(65536);
    for (uint32_t h = 0; h < 65536; ++h) (*t)[h] = HalfToFloat(static_cast<uint16_t>(h));
    return t;
  }();
  return table->data();
}

// One struct per dtype: its width, how an element widens to double (Get), whether it is
// Inf/NaN (Bad, from the exponent bits so that the check is an integer reduction) and how a
// double narrows into it (Put).
struct F32 {
  static constexpr size_t kSize = 4;
  double Get(const char* p) const { return Load<float>(p); }
  uint32_t Bad(const char* p) const { return (Load<uint32_t>(p) & 0x7F800000u) == 0x7F800000u; }
  void Put(char* p, double v) const { Store<float>(p, static_cast<float>(v)); }
};
struct F64 {
  static constexpr size_t kSize = 8;
  double Get(const char* p) const { return Load<double>(p); }
  uint32_t Bad(const char* p) const {
    constexpr uint64_t kExp = 0x7FF0000000000000ull;
    return (Load<uint64_t>(p) & kExp) == kExp;
  }
  void Put(char* p, double v) const { Store<double>(p, v); }
};
struct BF16 {
  static constexpr size_t kSize = 2;
  double Get(const char* p) const { return BitsToFloat(uint32_t{Load<uint16_t>(p)} << 16); }
  uint32_t Bad(const char* p) const { return (Load<uint16_t>(p) & 0x7F80u) == 0x7F80u; }
  void Put(char* p, double v) const {
    const uint32_t u = FloatToBits(static_cast<float>(v));
    const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    Store<uint16_t>(p, static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : rounded));
  }
};
struct F16 {
  static constexpr size_t kSize = 2;
  const float* table;
  double Get(const char* p) const { return table[Load<uint16_t>(p)]; }
  uint32_t Bad(const char* p) const { return (Load<uint16_t>(p) & 0x7C00u) == 0x7C00u; }
  void Put(char* p, double v) const { Store<uint16_t>(p, FloatToHalf(static_cast<float>(v))); }
};
template <typename T, typename Rounded>
struct Int {
  static constexpr size_t kSize = sizeof(T);
  double Get(const char* p) const { return static_cast<double>(Load<T>(p)); }
  uint32_t Bad(const char*) const { return 0; }
  void Put(char* p, double v) const { Store<T>(p, static_cast<T>(Rounded()(v))); }
};
struct LlRound {
  long long operator()(double v) const { return std::llround(v); }
};
struct LRound {
  long operator()(double v) const { return std::lround(v); }
};
struct Bool {
  static constexpr size_t kSize = 1;
  double Get(const char* p) const { return Load<uint8_t>(p) ? 1.0 : 0.0; }
  uint32_t Bad(const char*) const { return 0; }
  void Put(char* p, double v) const { Store<uint8_t>(p, v >= 0.5 ? 1 : 0); }
};

// Calls f(element) with the element struct of `dtype`.
template <typename F>
auto Visit(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat32:
      return f(F32{});
    case DType::kFloat64:
      return f(F64{});
    case DType::kBFloat16:
      return f(BF16{});
    case DType::kFloat16:
      return f(F16{HalfTable()});
    case DType::kInt64:
      return f(Int<int64_t, LlRound>{});
    case DType::kInt32:
      return f(Int<int32_t, LRound>{});
    case DType::kUInt8:
      return f(Int<uint8_t, LRound>{});
    case DType::kBool:
      return f(Bool{});
  }
  return f(F32{});  // unreachable: every dtype is listed
}

template <typename E>
bool AccumulateRange(E e, const char* __restrict src, size_t n, double w, double* __restrict acc) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* p = src + i * E::kSize;
    acc[i] += w * e.Get(p);
    bad |= e.Bad(p);
  }
  return bad == 0;
}

template <typename E>
bool WidenRange(E e, const char* __restrict src, size_t n, double* __restrict out) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* p = src + i * E::kSize;
    out[i] = e.Get(p);
    bad |= e.Bad(p);
  }
  return bad == 0;
}

template <typename E>
void NarrowRange(E e, const double* __restrict values, size_t n, double divisor,
                 char* __restrict dst) {
  for (size_t i = 0; i < n; ++i) e.Put(dst + i * E::kSize, values[i] / divisor);
}

template <typename E>
double SquaredDistanceRange(E e, const char* __restrict a, const char* __restrict b, size_t n) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (size_t i = 0; i < n; ++i) {
    const double d = e.Get(a + i * E::kSize) - e.Get(b + i * E::kSize);
    sum += d * d;
  }
  return sum;
}

// Runs range(begin, end) -> bool over [0, n) in parallel; true if every range returned true.
template <typename Range>
bool AllRanges(size_t n, Range range) {
  std::atomic<bool> ok{true};
  ParallelFor(n, [&](size_t begin, size_t end) {
    if (!range(begin, end)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace

Buffer::Buffer(size_t bytes) : size_(bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t alignment = bytes >= kHuge ? kHuge : 64;
  const size_t rounded =
      std::max<size_t>((bytes + alignment - 1) / alignment * alignment, alignment);
  data_ = static_cast<char*>(std::aligned_alloc(alignment, rounded));
  if (data_ == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (alignment == kHuge) madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: may fail
#endif
  std::memset(data_, 0, bytes);
}

Buffer::~Buffer() { std::free(data_); }

Buffer::Buffer(Buffer&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void SetThreads(int threads) { g_threads.store(std::max(threads, 0)); }

int Threads() {
  const int configured = g_threads.load();
  if (configured > 0) return configured;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn) {
  const size_t parts =
      std::min(static_cast<size_t>(Threads()), std::max<size_t>(1, n / kMinElementsPerThread));
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  // Ranges start on multiples of 64 elements so that threads do not share cache lines.
  const size_t step = ((n + parts - 1) / parts + 63) / 64 * 64;
  std::vector<std::thread> workers;
  workers.reserve(parts - 1);
  size_t begin = step;
  for (; begin < n; begin += step) {
    const size_t end = std::min(n, begin + step);
    try {
      workers.emplace_back([fn, begin, end] { fn(begin, end); });
    } catch (const std::system_error&) {
      break;  // no thread: the rest runs here
    }
  }
  fn(0, std::min(n, step));
  for (; begin < n; begin += step) fn(begin, std::min(n, begin + step));
  for (std::thread& t : workers) t.join();
}

bool AccumulateScaled(DType dtype, const char* src, size_t n, double weight, double* acc) {
  return Visit(dtype, [&](auto e) {
    using E = decltype(e);
    return AllRanges(n, [&](size_t b, size_t end) {
      return AccumulateRange(e, src + b * E::kSize, end - b, weight, acc + b);
    });
  });
}

bool Widen(DType dtype, const char* src, size_t n, double* out) {
  return Visit(dtype, [&](auto e) {
    using E = decltype(e);
    return AllRanges(n, [&](size_t b, size_t end) {
      return WidenRange(e, src + b * E::kSize, end - b, out + b);
    });
  });
}

bool AllFinite(DType dtype, const char* src, size_t n) {
  return Visit(dtype, [&](auto e) {
    using E = decltype(e);
    return AllRanges(n, [&](size_t b, size_t end) {
      uint32_t bad = 0;
      for (size_t i = b; i < end; ++i) bad |= e.Bad(src + i * E::kSize);
      return bad == 0;
    });
  });
}

size_t FirstNonFinite(DType dtype, const char* src, size_t n) {
  return Visit(dtype, [&](auto e) {
    using E = decltype(e);
    for (size_t i = 0; i < n; ++i) {
      if (e.Bad(src + i * E::kSize)) return i;
    }
    return n;
  });
}

void NarrowDivided(const double* values, size_t n, double divisor, DType dtype, char* dst) {
  Visit(dtype, [&](auto e) {
    using E = decltype(e);
    ParallelFor(n, [&](size_t b, size_t end) {
      NarrowRange(e, values + b, end - b, divisor, dst + b * E::kSize);
    });
  });
}

double SquaredDistance(DType dtype, const char* a, const char* b, size_t n) {
  return Visit(dtype, [&](auto e) { return SquaredDistanceRange(e, a, b, n); });
}

}  // namespace scancov::aggregator::kernels
