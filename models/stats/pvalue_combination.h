// Combination of per-site p-values for one hypothesis, as interchangeable strategies (Flower's
// strategy objects): the aggregator holds a PValueCombiner and does not care which.
//
// Each site reports a SiteTest: its two-sided p-value, the direction of its effect estimate
// and its size. Nothing else leaves the site.
//
//  - StoufferCombiner (the ScanCov seed's method, "weighted by site size"): each site's
//    two-sided p becomes a signed z_i = sign_i * Phi^{-1}(1 - p_i / 2), so sites whose effects
//    point in opposite directions cancel instead of adding up. Then
//        Z = sum_i w_i z_i / sqrt(sum_i w_i^2),
//    which is N(0, 1) under the null. The default weight is w_i = sqrt(n_i) (Lipták; Whitlock
//    2005; Zaykin 2011): the z of a site grows like sqrt(n_i) for a fixed effect, so these are
//    the efficient weights. w_i = n_i and w_i = 1 are available. The result gives the
//    two-sided p 2 * P(N > |Z|) (what the seed reports) and the one-sided P(N > Z).
//  - FisherCombiner: X = -2 sum_i log p_i ~ chi-square(2k). Fisher ignores directions and
//    sizes: it answers "is there an effect at some site", not "a consistent effect".
//
// Inputs are validated: p in (0, 1], n > 0 and finite, at least one site; otherwise
// InvalidArgument. Implementations are immutable and thread-safe.
#ifndef SCANCOV_MODELS_STATS_PVALUE_COMBINATION_H_
#define SCANCOV_MODELS_STATS_PVALUE_COMBINATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

struct SiteTest {
  double p_value = 1.0;    // two-sided, in (0, 1]
  double direction = 1.0;  // sign of the site's effect (e.g. its z); 0 counts as positive
  double n = 0.0;          // site size used for weights, > 0
};

struct CombinedTest {
  std::string method;               // "stouffer" or "fisher"
  double statistic = 0.0;           // Stouffer: Z; Fisher: X
  double degrees_of_freedom = 0.0;  // Fisher: 2k; Stouffer: 0 (normal reference)
  double p_value = 1.0;             // Stouffer: two-sided; Fisher: upper chi-square tail
  double p_one_sided = 1.0;         // Stouffer: P(N > Z); Fisher: equals p_value
  int num_sites = 0;
};

class PValueCombiner {
 public:
  virtual ~PValueCombiner() = default;
  virtual std::string name() const = 0;
  virtual absl::StatusOr<CombinedTest> Combine(absl::Span<const SiteTest> sites) const = 0;
};

enum class StoufferWeighting { kSqrtSampleSize, kSampleSize, kEqual };

class StoufferCombiner : public PValueCombiner {
 public:
  explicit StoufferCombiner(StoufferWeighting weighting = StoufferWeighting::kSqrtSampleSize)
      : weighting_(weighting) {}
  std::string name() const override { return "stouffer"; }
  absl::StatusOr<CombinedTest> Combine(absl::Span<const SiteTest> sites) const override;

  // The signed z of one site, -sign * Phi^{-1}(p / 2) (no cancellation for tiny p).
  static double SignedZ(const SiteTest& site);

 private:
  StoufferWeighting weighting_;
};

class FisherCombiner : public PValueCombiner {
 public:
  std::string name() const override { return "fisher"; }
  absl::StatusOr<CombinedTest> Combine(absl::Span<const SiteTest> sites) const override;
};

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_PVALUE_COMBINATION_H_
