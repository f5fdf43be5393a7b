#include "core/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace scancov {
namespace {

std::string Bounded(absl::string_view s, size_t max) {
  return std::string(s.substr(0, std::min(s.size(), max)));
}

// "240/s", "2.5/s", "12/min", "0.3/min": units per second or, below one, per minute.
std::string FormatRate(double per_second) {
  if (per_second >= 10) return absl::StrFormat("%.0f/s", per_second);
  if (per_second >= 1) return absl::StrFormat("%.1f/s", per_second);
  const double per_minute = per_second * 60;
  return per_minute >= 10 ? absl::StrFormat("%.0f/min", per_minute)
                          : absl::StrFormat("%.1f/min", per_minute);
}

}  // namespace

std::string FormatEta(absl::Duration d) {
  // Rounded up, but not for the last bits of a floating-point estimate (540.0000001 s is 9m).
  const int64_t s = static_cast<int64_t>(std::ceil(std::max(0.0, absl::ToDoubleSeconds(d) - 1e-3)));
  if (s < 60) return absl::StrCat(s, "s");
  const int64_t m = (s + 59) / 60;
  if (m < 60) return absl::StrCat(m, "m");
  if (m < 24 * 60)
    return m % 60 ? absl::StrCat(m / 60, "h", m % 60, "m") : absl::StrCat(m / 60, "h");
  const int64_t h = (m + 59) / 60;
  return h % 24 ? absl::StrCat(h / 24, "d", h % 24, "h") : absl::StrCat(h / 24, "d");
}

Progress::Progress(Clock* clock) : clock_(clock) {
  absl::MutexLock lock(&mu_);
  stage_start_ = clock_->Now();
}

void Progress::SetStage(absl::string_view stage) {
  std::optional<Due> due;
  {
    absl::MutexLock lock(&mu_);
    if (!count_.unit.empty()) due = DueLocked(/*force=*/true);
    stage_ = Bounded(stage, 40);
    stage_start_ = clock_->Now();
    count_ = Count();
    sub_ = Count();
  }
  Print(due);
}

void Progress::SetCount(absl::string_view unit, int64_t done, int64_t total) {
  std::optional<Due> due;
  {
    absl::MutexLock lock(&mu_);
    count_ = {Bounded(unit, 16), std::max<int64_t>(0, done), std::max<int64_t>(0, total)};
    sub_ = Count();
    due = DueLocked(/*force=*/false);
  }
  Print(due);
}

void Progress::SetSubCount(absl::string_view unit, int64_t done, int64_t total) {
  std::optional<Due> due;
  {
    absl::MutexLock lock(&mu_);
    sub_ = {Bounded(unit, 16), std::max<int64_t>(0, done), std::max<int64_t>(0, total)};
    due = DueLocked(/*force=*/false);
  }
  Print(due);
}

double Progress::Fraction() const {
  absl::MutexLock lock(&mu_);
  return FractionLocked();
}

std::optional<absl::Duration> Progress::Eta() const {
  absl::MutexLock lock(&mu_);
  return EtaLocked();
}

std::string Progress::Text() const {
  absl::MutexLock lock(&mu_);
  return TextLocked(/*with_rate=*/false);
}

std::string Progress::ReleasedText() const {
  absl::MutexLock lock(&mu_);
  return TextLocked(/*with_rate=*/false, /*released=*/true);
}

double Progress::ReleasedFraction() const {
  absl::MutexLock lock(&mu_);
  return FractionLocked(/*released=*/true);
}

std::string Progress::Line() const {
  absl::MutexLock lock(&mu_);
  return TextLocked(/*with_rate=*/true);
}

void Progress::Cancel(std::string reason) {
  absl::MutexLock lock(&mu_);
  if (cancelled_.load()) return;  // the first reason stays
  cancel_reason_ = std::move(reason);
  cancelled_ = true;
}

std::string Progress::cancel_reason() const {
  absl::MutexLock lock(&mu_);
  return cancel_reason_;
}

void Progress::PrintEvery(absl::Duration every, Sink sink) {
  absl::MutexLock lock(&mu_);
  every_ = every;
  sink_ = std::move(sink);
  last_print_ = clock_->Now();  // the first line after `every` of work, not at once
}

void Progress::Finish() {
  std::optional<Due> due;
  {
    absl::MutexLock lock(&mu_);
    due = DueLocked(/*force=*/true);
  }
  Print(due);
}

double Progress::FractionLocked(bool released) const {
  if (count_.total <= 0) return 0;
  double done = static_cast<double>(count_.done);
  if (!released && sub_.total > 0)
    done += std::min(1.0, static_cast<double>(sub_.done) / sub_.total);
  return std::clamp(done / count_.total, 0.0, 1.0);
}

std::optional<absl::Duration> Progress::EtaLocked(bool released) const {
  const double f = FractionLocked(released);
  if (f <= 0 || f >= 1) return std::nullopt;
  const absl::Duration elapsed = clock_->Now() - stage_start_;
  if (elapsed <= absl::ZeroDuration()) return std::nullopt;
  return elapsed * ((1 - f) / f);
}

std::string Progress::TextLocked(bool with_rate, bool released) const {
  std::string text = stage_;
  if (!count_.unit.empty()) {
    // With a sub-count the unit shown is the one under way ("epoch 2/5, batch 40/120").
    int64_t shown = count_.done;
    if (!sub_.unit.empty())
      shown = count_.total > 0 ? std::min(shown + 1, count_.total) : shown + 1;
    absl::StrAppend(&text, text.empty() ? "" : " ", count_.unit, " ", shown);
    if (count_.total > 0) absl::StrAppend(&text, "/", count_.total);
  }
  if (!released && !sub_.unit.empty()) {
    absl::StrAppend(&text, ", ", sub_.unit, " ", sub_.done);
    if (sub_.total > 0) absl::StrAppend(&text, "/", sub_.total);
  }
  const double seconds = absl::ToDoubleSeconds(clock_->Now() - stage_start_);
  if (with_rate && count_.done > 0 && seconds > 0) {
    absl::StrAppend(&text, ", ", FormatRate(count_.done / seconds));
  }
  if (std::optional<absl::Duration> eta = EtaLocked(released)) {
    absl::StrAppend(&text, ", ETA ", FormatEta(*eta));
  }
  return Bounded(text, kMaxText);
}

std::optional<Progress::Due> Progress::DueLocked(bool force) {
  if (!sink_) return std::nullopt;
  const absl::Time now = clock_->Now();
  if (!force && now - last_print_ < every_) return std::nullopt;
  last_print_ = now;
  return Due{sink_, TextLocked(/*with_rate=*/true)};
}

void Progress::Print(const std::optional<Due>& due) {
  if (due) due->sink(due->line);
}

}  // namespace scancov
