// Progress: how far a long piece of work has come, in counts only: a stage ("training",
// "reading headers"), the units done of a total (epochs, series, files, rows) and optionally
// the units done within the current one (batches of the epoch). From these and the time since
// the stage began (through the injected Clock, so that tests are deterministic) it gives the
// fraction done, the rate and an estimate of the time left, and a short text for a person:
//   "training epoch 2/5, batch 40/120, ETA 3m"
//   "dicom import: reading headers, file 1200/5000, 240/s, ETA 16s"
// The words come from the code (stage and unit names); the numbers are counts. Never put a
// patient identifier, a file name or a path in a stage or a unit: the text goes to logs and, in
// a heartbeat, to the aggregator.
//
// It also carries a cancellation: whoever learns that the work no longer matters (the node's
// heartbeat, when the aggregator no longer counts the task) calls Cancel with the reason, and
// the work checks cancelled() between its steps and stops.
//
// With PrintEvery, every update that comes at least `every` after the last printed line prints
// Line() to the sink (outside the lock); Finish prints the last one.
//
// Thread safety: every method may be called from any thread. The clock must outlive it.
#ifndef SCANCOV_CORE_PROGRESS_H_
#define SCANCOV_CORE_PROGRESS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/env.h"

namespace scancov {

class Progress {
 public:
  using Sink = std::function<void(const std::string& line)>;
  // The longest Text() or Line(): the aggregator keeps 80 characters of a heartbeat's stage.
  static constexpr size_t kMaxText = 80;

  explicit Progress(Clock* clock = Clock::Real());
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A new stage: its name, no counts, and the ETA's timing restarts. Prints its line (when
  // printing) if the previous stage had counts, so that each stage's end shows.
  void SetStage(absl::string_view stage);
  // `done` units of `total` (0: the total is unknown) in the stage; clears the sub-count.
  void SetCount(absl::string_view unit, int64_t done, int64_t total);
  // `done` of `total` sub-units within the current unit: the unit shown is then the one in
  // progress (done + 1), as in "epoch 2/5, batch 40/120".
  void SetSubCount(absl::string_view unit, int64_t done, int64_t total);

  // Fraction of the stage done, in [0, 1]; 0 while the total is unknown.
  double Fraction() const;
  // The time left, from the time since the stage began and the fraction done; none before any
  // unit is done, when the total is unknown, or when the stage is done.
  std::optional<absl::Duration> Eta() const;
  // "<stage> <unit> <done>/<total>[, <sub> <d>/<t>][, ETA <eta>]", at most kMaxText characters.
  std::string Text() const;
  // What may leave the site (a heartbeat's stage and progress): the outer count only, e.g.
  // "training epoch 2/5, ETA 3m", and its fraction in whole units. The sub-count is computed
  // from the site's rows (batches of a training set: with a batch size of 1 chosen by the
  // coordinator, the exact number of training patients) and stays in the node's log.
  std::string ReleasedText() const;
  double ReleasedFraction() const;
  // The same with the rate of the stage's units ("240/s", "12/min") before the ETA: for a log.
  std::string Line() const;

  void Cancel(std::string reason);
  bool cancelled() const { return cancelled_.load(); }
  std::string cancel_reason() const;

  // Prints Line() to `sink` at most every `every` (zero: at every update).
  void PrintEvery(absl::Duration every, Sink sink);
  // Prints Line() now (when printing), e.g. at the end of the work.
  void Finish();

 private:
  struct Count {
    std::string unit;
    int64_t done = 0;
    int64_t total = 0;
  };
  // `released`: from the outer count only (ReleasedText).
  double FractionLocked(bool released = false) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<absl::Duration> EtaLocked(bool released = false) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string TextLocked(bool with_rate, bool released = false) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct Due {
    Sink sink;
    std::string line;
  };
  // The line to print now and where, if one is due (`force`: whenever printing).
  std::optional<Due> DueLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Print(const std::optional<Due>& due);

  Clock* clock_;
  mutable absl::Mutex mu_;
  std::string stage_ ABSL_GUARDED_BY(mu_);
  absl::Time stage_start_ ABSL_GUARDED_BY(mu_);
  Count count_ ABSL_GUARDED_BY(mu_);
  Count sub_ ABSL_GUARDED_BY(mu_);
  std::string cancel_reason_ ABSL_GUARDED_BY(mu_);
  absl::Duration every_ ABSL_GUARDED_BY(mu_) = absl::InfiniteDuration();
  absl::Time last_print_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Sink sink_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> cancelled_{false};
};

// "45s", "3m", "1h20m", "2d3h": a duration for a person, at most two units, rounded up to the
// smaller one.
std::string FormatEta(absl::Duration d);

}  // namespace scancov

#endif  // SCANCOV_CORE_PROGRESS_H_
