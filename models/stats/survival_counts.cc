#include "models/stats/survival_counts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

// time -> (events, censored), in increasing time.
using Bins = std::map<double, std::pair<int64_t, int64_t>>;

// The table of `total` patients binned as `by_time`: at risk just before each time is the
// total less everybody at the earlier times.
SurvivalCounts FromBins(const Bins& by_time, int64_t total) {
  SurvivalCounts counts;
  int64_t remaining = total;
  for (const auto& [t, ec] : by_time) {
    counts.times.push_back(t);
    counts.at_risk.push_back(remaining);
    counts.events.push_back(ec.first);
    counts.censored.push_back(ec.second);
    remaining -= ec.first + ec.second;
  }
  return counts;
}

}  // namespace

int64_t SurvivalCounts::AtRiskAt(double t) const {
  const auto it = std::lower_bound(times.begin(), times.end(), t);
  if (it == times.end()) return 0;
  return at_risk[static_cast<size_t>(it - times.begin())];
}

absl::Status ValidateSurvivalCounts(const SurvivalCounts& c) {
  constexpr char kWhere[] = "ValidateSurvivalCounts";
  const size_t k = c.times.size();
  if (c.at_risk.size() != k || c.events.size() != k || c.censored.size() != k) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": columns have different lengths"));
  }
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "times", c.times));
  for (size_t i = 0; i < k; ++i) {
    if (c.times[i] < 0.0 || (i > 0 && !(c.times[i] > c.times[i - 1]))) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": times must be >= 0 and strictly increasing (index ", i, ")"));
    }
    if (c.events[i] < 0 || c.censored[i] < 0 || c.events[i] + c.censored[i] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": bad event/censored counts at index ", i));
    }
    const int64_t next = i + 1 < k ? c.at_risk[i + 1] : 0;
    if (c.at_risk[i] - c.events[i] - c.censored[i] != next) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": at-risk counts inconsistent at index ", i));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SurvivalCounts> CountSurvival(absl::Span<const double> time,
                                             absl::Span<const double> event, double bin_width) {
  constexpr char kWhere[] = "CountSurvival";
  SCV_RETURN_IF_ERROR(CheckNonEmpty(kWhere, "time", time));
  SCV_RETURN_IF_ERROR(CheckLength(kWhere, "event", event.size(), "time", time.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(kWhere, "time", time));
  SCV_RETURN_IF_ERROR(CheckBinary(kWhere, "event", event));
  if (!(bin_width >= 0.0) || !std::isfinite(bin_width)) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": bin_width must be finite, >= 0"));
  }
  Bins by_time;
  for (size_t i = 0; i < time.size(); ++i) {
    if (time[i] < 0.0) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": time[", i, "] is negative"));
    }
    const double t = bin_width > 0.0 ? std::ceil(time[i] / bin_width) * bin_width : time[i];
    (event[i] == 1.0 ? by_time[t].first : by_time[t].second) += 1;
  }
  return FromBins(by_time, static_cast<int64_t>(time.size()));
}

absl::StatusOr<SurvivalCounts> MergeSurvivalCounts(absl::Span<const SurvivalCounts> sites) {
  Bins by_time;
  int64_t total = 0;
  for (size_t s = 0; s < sites.size(); ++s) {
    absl::Status valid = ValidateSurvivalCounts(sites[s]);
    if (!valid.ok()) return Annotate(valid, absl::StrCat("MergeSurvivalCounts: site ", s));
    total += sites[s].total();
    for (size_t i = 0; i < sites[s].times.size(); ++i) {
      by_time[sites[s].times[i]].first += sites[s].events[i];
      by_time[sites[s].times[i]].second += sites[s].censored[i];
    }
  }
  return FromBins(by_time, total);
}

absl::StatusOr<SurvivalCounts> CoarsenSurvivalCounts(const SurvivalCounts& counts,
                                                     double bin_width) {
  SCV_RETURN_IF_ERROR(Annotate(ValidateSurvivalCounts(counts), "CoarsenSurvivalCounts"));
  if (!(bin_width > 0.0) || !std::isfinite(bin_width)) {
    return absl::InvalidArgumentError("CoarsenSurvivalCounts: bin_width must be finite, > 0");
  }
  Bins by_time;
  for (size_t i = 0; i < counts.times.size(); ++i) {
    std::pair<int64_t, int64_t>& bin = by_time[std::ceil(counts.times[i] / bin_width) * bin_width];
    bin.first += counts.events[i];
    bin.second += counts.censored[i];
  }
  return FromBins(by_time, counts.total());
}

absl::StatusOr<double> CommonBinWidth(absl::Span<const double> widths, double max_width) {
  constexpr char kWhere[] = "CommonBinWidth";
  if (widths.empty()) return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no widths"));
  int64_t common = 1;
  for (double w : widths) {
    if (!(w >= 1.0 && w <= max_width) || w != std::floor(w)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": a width must be a whole number in 1..", max_width));
    }
    const int64_t whole = static_cast<int64_t>(w);
    common = common / std::gcd(common, whole) * whole;  // both <= max_width: no overflow
    if (static_cast<double>(common) > max_width) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": the widths have no common multiple up to ", max_width));
    }
  }
  return static_cast<double>(common);
}

}  // namespace scancov::stats
