#include "models/stats/federated_quantile.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace scancov::stats {
namespace {
constexpr char kWhere[] = "federated quantile";
}  // namespace

absl::StatusOr<FederatedQuantileSearch> FederatedQuantileSearch::Create(
    int64_t num_values, std::vector<double> probabilities, const QuantileSearchOptions& options) {
  if (num_values < 1) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no values"));
  }
  if (probabilities.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no probabilities"));
  }
  for (double q : probabilities) {
    if (!(q >= 0.0 && q <= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": probability outside [0, 1]"));
    }
  }
  if (!(std::isfinite(options.lower) && std::isfinite(options.upper) &&
        options.lower < options.upper && options.tolerance > 0.0 &&
        options.candidates_per_bracket >= 1 && options.max_rounds >= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": options need lower < upper, tolerance > 0, K >= 1, rounds >= 1"));
  }
  FederatedQuantileSearch search(num_values, std::move(probabilities), options);
  std::vector<int64_t> ranks;
  for (double q : search.probabilities_) {
    // The same arithmetic as scores::Quantile, so both pick the same order statistics.
    const double h = (static_cast<double>(num_values) - 1.0) * q;
    const int64_t k = static_cast<int64_t>(std::floor(h));
    ranks.push_back(k);
    if (h > static_cast<double>(k) && k + 1 < num_values) ranks.push_back(k + 1);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  for (int64_t r : ranks) {
    Bracket b;
    b.rank = r;
    b.lo = options.lower;
    b.hi = options.upper;
    search.brackets_.push_back(b);
  }
  return search;
}

bool FederatedQuantileSearch::Narrow(const Bracket& b) const {
  if (!b.lo_known || !b.hi_known) return false;
  const double step = (b.hi - b.lo) / (options_.candidates_per_bracket + 1);
  // The second test stops a tolerance below the doubles' resolution from looping.
  return b.hi - b.lo <= options_.tolerance || !(b.lo + step > b.lo && b.hi - step < b.hi);
}

bool FederatedQuantileSearch::done() const {
  for (const Bracket& b : brackets_) {
    if (!Narrow(b)) return false;
  }
  return true;
}

std::vector<double> FederatedQuantileSearch::CandidatesOf(const Bracket& b) const {
  std::vector<double> c;
  if (Narrow(b)) return c;
  if (!b.lo_known) c.push_back(b.lo);
  const int k = options_.candidates_per_bracket;
  for (int i = 1; i <= k; ++i) c.push_back(b.lo + (b.hi - b.lo) * i / (k + 1));
  if (!b.hi_known) c.push_back(b.hi);
  return c;
}

std::vector<double> FederatedQuantileSearch::Candidates() const {
  std::vector<double> all;
  for (const Bracket& b : brackets_) {
    const std::vector<double> c = CandidatesOf(b);
    all.insert(all.end(), c.begin(), c.end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

absl::Status FederatedQuantileSearch::Update(absl::Span<const int64_t> counts) {
  const std::vector<double> asked = Candidates();
  if (asked.empty()) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": already done"));
  if (counts.size() != asked.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": ", counts.size(), " counts for ", asked.size(), " candidates"));
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0 || counts[i] > n_ || (i > 0 && counts[i] < counts[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          kWhere, ": counts must be non-decreasing in the candidates and within [0, ", n_, "]"));
    }
  }
  auto count_at = [&](double t) {
    return counts[std::lower_bound(asked.begin(), asked.end(), t) - asked.begin()];
  };
  for (Bracket& b : brackets_) {
    if (Narrow(b)) continue;
    const int64_t need = b.rank + 1;
    const double width = b.hi - b.lo;
    if (!b.lo_known && count_at(b.lo) >= need) {  // x(rank) <= lo: move the bracket down
      b.hi = b.lo;
      b.hi_known = true;
      b.lo -= 4.0 * width;
      continue;
    }
    if (!b.hi_known && count_at(b.hi) < need) {  // x(rank) > hi: move the bracket up
      b.lo = b.hi;
      b.lo_known = true;
      b.hi += 4.0 * width;
      continue;
    }
    double lo = b.lo, hi = b.hi;
    for (double t : CandidatesOf(b)) {
      if (count_at(t) < need) {
        lo = std::max(lo, t);
      } else {
        hi = std::min(hi, t);
      }
    }
    b.lo = lo;
    b.hi = hi;
    b.lo_known = b.hi_known = true;
  }
  ++rounds_;
  if (!done() && rounds_ >= options_.max_rounds) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kWhere, ": not within tolerance after ", rounds_, " rounds"));
  }
  return absl::OkStatus();
}

double FederatedQuantileSearch::Estimate(int64_t rank) const {
  for (const Bracket& b : brackets_) {
    if (b.rank == rank) return 0.5 * (b.lo + b.hi);
  }
  return std::nan("");  // not reached: Create made a bracket for every rank Quantiles uses
}

absl::StatusOr<std::vector<double>> FederatedQuantileSearch::Quantiles(
    const std::function<double(double)>& transform) const {
  if (!done()) return absl::FailedPreconditionError(absl::StrCat(kWhere, ": search not done"));
  auto g = [&](double x) { return transform ? transform(x) : x; };
  std::vector<double> out;
  for (double q : probabilities_) {
    const double h = (static_cast<double>(n_) - 1.0) * q;
    const int64_t k = static_cast<int64_t>(std::floor(h));
    const double frac = h - static_cast<double>(k);
    const double low = g(Estimate(k));
    out.push_back(frac > 0.0 && k + 1 < n_ ? low + frac * (g(Estimate(k + 1)) - low) : low);
  }
  return out;
}

std::vector<int64_t> CountAtOrBelow(absl::Span<const double> values,
                                    absl::Span<const double> thresholds) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> counts;
  counts.reserve(thresholds.size());
  for (double t : thresholds) {
    counts.push_back(std::upper_bound(sorted.begin(), sorted.end(), t) - sorted.begin());
  }
  return counts;
}

}  // namespace scancov::stats
