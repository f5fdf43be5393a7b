// The seams through which code touches time and randomness (after leveldb's Env), so that
// deadlines, backoff and noise are deterministic in tests.
#ifndef SCANCOV_CORE_ENV_H_
#define SCANCOV_CORE_ENV_H_

#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace scancov {

// Wall-clock time and sleeping. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  virtual void SleepFor(absl::Duration d) = 0;

  // The process-wide real clock (never destroyed).
  static Clock* Real();
};

// A clock that only moves when told to. SleepFor advances it instead of blocking, so code
// with backoff loops runs instantly and deterministically under test.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000)) : now_(start) {}
  absl::Time Now() override;
  void SleepFor(absl::Duration d) override;
  void Advance(absl::Duration d);
  // Total time spent in SleepFor since construction.
  absl::Duration TotalSlept();

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  absl::Duration slept_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

// A seeded random source. Not thread-safe: give each thread its own.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  double Normal(double mean = 0.0, double sd = 1.0) {
    return std::normal_distribution<double>(mean, sd)(engine_);
  }
  uint64_t Next() { return engine_(); }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace scancov

#endif  // SCANCOV_CORE_ENV_H_
