#include "models/stats/pvalue_combination.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"

namespace scancov::stats {
namespace {

absl::Status CheckSites(absl::string_view where, absl::Span<const SiteTest> sites) {
  if (sites.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no sites"));
  for (size_t i = 0; i < sites.size(); ++i) {
    const SiteTest& s = sites[i];
    if (!(s.p_value > 0.0 && s.p_value <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": site ", i, ": p-value ", s.p_value, " is not in (0, 1]"));
    }
    if (!(s.n > 0.0) || !std::isfinite(s.n)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": site ", i, ": size must be finite and > 0"));
    }
    if (std::isnan(s.direction)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": site ", i, ": direction is NaN"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

double StoufferCombiner::SignedZ(const SiteTest& site) {
  const double magnitude = -NormalQuantile(0.5 * site.p_value);
  return site.direction < 0.0 ? -magnitude : magnitude;
}

absl::StatusOr<CombinedTest> StoufferCombiner::Combine(absl::Span<const SiteTest> sites) const {
  SCV_RETURN_IF_ERROR(CheckSites("StoufferCombiner", sites));
  double weighted_sum = 0.0;
  double weight_squares = 0.0;
  for (const SiteTest& site : sites) {
    double w = 1.0;
    if (weighting_ == StoufferWeighting::kSqrtSampleSize) w = std::sqrt(site.n);
    if (weighting_ == StoufferWeighting::kSampleSize) w = site.n;
    weighted_sum += w * SignedZ(site);
    weight_squares += w * w;
  }
  CombinedTest result;
  result.method = name();
  result.statistic = weighted_sum / std::sqrt(weight_squares);
  result.p_value = TwoSidedNormalP(result.statistic);
  result.p_one_sided = NormalSf(result.statistic);
  result.num_sites = static_cast<int>(sites.size());
  return result;
}

absl::StatusOr<CombinedTest> FisherCombiner::Combine(absl::Span<const SiteTest> sites) const {
  SCV_RETURN_IF_ERROR(CheckSites("FisherCombiner", sites));
  double statistic = 0.0;
  for (const SiteTest& site : sites) statistic -= 2.0 * std::log(site.p_value);
  CombinedTest result;
  result.method = name();
  result.statistic = statistic;
  result.degrees_of_freedom = 2.0 * static_cast<double>(sites.size());
  result.p_value = ChiSquareSf(statistic, result.degrees_of_freedom);
  result.p_one_sided = result.p_value;
  result.num_sites = static_cast<int>(sites.size());
  return result;
}

}  // namespace scancov::stats
