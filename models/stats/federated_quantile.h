// Quantiles of values spread over sites, found from counts only: no value ever leaves a site.
//
// The definition matched is R's quantile type 7 (numpy's default "linear"), the one
// scores::TercileThresholds uses on pooled data: for n pooled values with order statistics
// x(0) <= ... <= x(n-1) and a probability q, h = (n - 1) q, k = floor(h) and
//   Q(q) = x(k) + (h - k) (x(k+1) - x(k)).
// Each order statistic x(r) is the smallest t with C(t) >= r + 1, where C(t) is the pooled
// number of values <= t (the sum of the sites' counts). The search keeps, for every rank it
// needs, a bracket (lo, hi] with C(lo) < r + 1 <= C(hi), so x(r) lies in it. Each round it
// proposes K evenly spaced candidates inside every bracket not yet narrow enough (and the ends
// of a bracket whose counts are not known yet); every site answers how many of its values are
// <= each candidate; the pooled counts shrink each bracket K + 1 times. A bracket that turns out
// not to hold its order statistic (values beyond the public starting range) moves outward and
// widens fourfold until it does. The search ends when every bracket is at most `tolerance`
// wide; each order statistic is then estimated by its bracket's midpoint, within tolerance / 2.
// With the defaults (start [-30, 30], K = 31, tolerance 1e-4) that takes 4 rounds.
//
// Scale. A monotone increasing transform g commutes with order statistics (g(x(r)) is the r-th
// order statistic of g(x)), not with the interpolation. Quantiles(g) interpolates g of the
// located order statistics, which is Q(q) of the transformed values: searching linear
// predictors and passing the logistic sigmoid gives the type 7 quantiles of the probabilities,
// exactly what TercileThresholds computes, within tolerance / 8 (the sigmoid's slope is <= 1/4).
//
// Privacy. A site releases, per candidate, the number of its values <= a threshold that the
// aggregator chose before seeing them in round 1 (a public range) and afterwards from pooled
// counts only. Over the search that is a histogram on a nested grid that is coarse everywhere
// except around the pooled order statistics it locates; those are what the released quantile
// itself reveals (a type 7 quantile is an interpolation of at most two values), to within the
// tolerance. A minimum-count rule per count would protect nothing here (counts at two close
// thresholds can be differenced) and would make the result inexact, so callers apply the
// release policy to whether a site takes part at all (as its events / non-events rule does in
// the federated fit) and bound the number of candidates a site answers per round.
//
// Thread safety: none; one search per quantile set, driven from one thread. Deterministic: the
// same counts give the same candidates, so replaying the pooled counts of earlier rounds
// rebuilds the search after a restart.
#ifndef SCANCOV_MODELS_STATS_FEDERATED_QUANTILE_H_
#define SCANCOV_MODELS_STATS_FEDERATED_QUANTILE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

struct QuantileSearchOptions {
  double lower = -30.0;  // public starting range; values may lie outside it
  double upper = 30.0;
  int candidates_per_bracket = 31;  // K
  double tolerance = 1e-4;          // final bracket width, on the values' scale
  int max_rounds = 40;
};

class FederatedQuantileSearch {
 public:
  // `num_values`: the pooled n (>= 1); `probabilities` in [0, 1]. InvalidArgument otherwise.
  static absl::StatusOr<FederatedQuantileSearch> Create(int64_t num_values,
                                                        std::vector<double> probabilities,
                                                        const QuantileSearchOptions& options = {});

  bool done() const;
  // Rounds of counts taken so far.
  int rounds() const { return rounds_; }
  const QuantileSearchOptions& options() const { return options_; }

  // The thresholds to ask every site about this round: increasing, distinct; empty once done.
  std::vector<double> Candidates() const;

  // The pooled counts C(t) for Candidates(), in the same order. InvalidArgument for a wrong
  // length, a count outside [0, n] or counts that decrease; ResourceExhausted past max_rounds.
  absl::Status Update(absl::Span<const int64_t> pooled_counts);

  // Q(q) for each requested probability (see the header comment), interpolating
  // `transform`(order statistic) when given. FailedPrecondition until done().
  absl::StatusOr<std::vector<double>> Quantiles(
      const std::function<double(double)>& transform = nullptr) const;

 private:
  struct Bracket {
    int64_t rank = 0;  // 0-based order statistic
    double lo = 0.0, hi = 0.0;
    bool lo_known = false, hi_known = false;  // C(lo) < rank + 1, C(hi) >= rank + 1 verified
  };

  FederatedQuantileSearch(int64_t n, std::vector<double> probabilities,
                          const QuantileSearchOptions& options)
      : n_(n), probabilities_(std::move(probabilities)), options_(options) {}
  bool Narrow(const Bracket& b) const;
  std::vector<double> CandidatesOf(const Bracket& b) const;
  double Estimate(int64_t rank) const;

  int64_t n_;
  std::vector<double> probabilities_;
  QuantileSearchOptions options_;
  std::vector<Bracket> brackets_;  // one per distinct rank needed, increasing
  int rounds_ = 0;
};

// A site's answer: for each threshold, how many of `values` are <= it. `values` must hold no
// NaN (the sort's ordering would be undefined): callers check the values are finite.
std::vector<int64_t> CountAtOrBelow(absl::Span<const double> values,
                                    absl::Span<const double> thresholds);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_FEDERATED_QUANTILE_H_
