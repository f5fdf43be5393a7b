#include "models/stats/auc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/distributions.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

// 1-based ranks with ties given their average rank.
std::vector<double> MidRanks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mid;
    i = j + 1;
  }
  return ranks;
}

// DeLong's placement values for one score. For positive i, positive_placements[i] is the
// fraction of negatives it beats (ties 1/2); for negative j, negative_placements[j] is the
// fraction of positives that beat it. Both average to the AUC.
struct Placements {
  std::vector<double> positive_placements;
  std::vector<double> negative_placements;
  double auc = 0.0;
};

Placements ComputePlacements(absl::Span<const double> scores, absl::Span<const double> labels) {
  std::vector<double> positives;
  std::vector<double> negatives;
  for (size_t i = 0; i < scores.size(); ++i) {
    (labels[i] == 1.0 ? positives : negatives).push_back(scores[i]);
  }
  const double m = static_cast<double>(positives.size());
  const double n = static_cast<double>(negatives.size());
  std::vector<double> all = positives;
  all.insert(all.end(), negatives.begin(), negatives.end());
  const std::vector<double> rank_all = MidRanks(all);
  const std::vector<double> rank_pos = MidRanks(positives);
  const std::vector<double> rank_neg = MidRanks(negatives);
  Placements p;
  for (size_t i = 0; i < positives.size(); ++i) {
    p.positive_placements.push_back((rank_all[i] - rank_pos[i]) / n);
  }
  for (size_t j = 0; j < negatives.size(); ++j) {
    p.negative_placements.push_back(1.0 - (rank_all[positives.size() + j] - rank_neg[j]) / m);
  }
  p.auc = std::accumulate(p.positive_placements.begin(), p.positive_placements.end(), 0.0) / m;
  return p;
}

// Sample covariance (denominator k - 1) of two placement vectors around their AUCs.
double PlacementCovariance(const std::vector<double>& a, double mean_a,
                           const std::vector<double>& b, double mean_b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - mean_a) * (b[i] - mean_b);
  return sum / static_cast<double>(a.size() - 1);
}

// DeLong's covariance of the AUCs of two scores on the same patients (the variance when a = b).
double DeLongCovariance(const Placements& a, const Placements& b) {
  const double m = static_cast<double>(a.positive_placements.size());
  const double n = static_cast<double>(a.negative_placements.size());
  return PlacementCovariance(a.positive_placements, a.auc, b.positive_placements, b.auc) / m +
         PlacementCovariance(a.negative_placements, a.auc, b.negative_placements, b.auc) / n;
}

absl::Status CheckInputs(absl::string_view where, absl::Span<const double> scores,
                         absl::Span<const double> labels, int64_t min_per_class) {
  SCV_RETURN_IF_ERROR(CheckNonEmpty(where, "labels", labels));
  SCV_RETURN_IF_ERROR(CheckLength(where, "scores", scores.size(), "labels", labels.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "scores", scores));
  SCV_RETURN_IF_ERROR(CheckBinary(where, "labels", labels));
  const int64_t positives = std::count(labels.begin(), labels.end(), 1.0);
  const int64_t negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives < min_per_class || negatives < min_per_class) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": needs at least ", min_per_class,
                                                      " positives and negatives, got ", positives,
                                                      " and ", negatives));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> Auc(absl::Span<const double> scores, absl::Span<const double> labels) {
  SCV_RETURN_IF_ERROR(CheckInputs("Auc", scores, labels, 1));
  return ComputePlacements(scores, labels).auc;
}

absl::StatusOr<AucResult> AucWithDeLong(absl::Span<const double> scores,
                                        absl::Span<const double> labels, double confidence_level,
                                        AucInterval interval) {
  constexpr char kWhere[] = "AucWithDeLong";
  SCV_RETURN_IF_ERROR(CheckInputs(kWhere, scores, labels, 2));
  SCV_RETURN_IF_ERROR(CheckConfidenceLevel(kWhere, confidence_level));
  const Placements p = ComputePlacements(scores, labels);
  AucResult result;
  result.auc = p.auc;
  result.variance = DeLongCovariance(p, p);
  result.standard_error = std::sqrt(result.variance);
  result.num_positive = static_cast<int64_t>(p.positive_placements.size());
  result.num_negative = static_cast<int64_t>(p.negative_placements.size());
  const double crit = TwoSidedCriticalValue(confidence_level);
  if (interval == AucInterval::kPlain) {
    result.ci_lower = std::max(0.0, p.auc - crit * result.standard_error);
    result.ci_upper = std::min(1.0, p.auc + crit * result.standard_error);
  } else if (p.auc <= 0.0 || p.auc >= 1.0) {
    result.ci_lower = result.ci_upper = std::numeric_limits<double>::quiet_NaN();
  } else {
    const double logit = std::log(p.auc / (1.0 - p.auc));
    const double se = result.standard_error / (p.auc * (1.0 - p.auc));
    result.ci_lower = 1.0 / (1.0 + std::exp(-(logit - crit * se)));
    result.ci_upper = 1.0 / (1.0 + std::exp(-(logit + crit * se)));
  }
  return result;
}

absl::StatusOr<AucComparison> CompareAucsDeLong(absl::Span<const double> scores_a,
                                                absl::Span<const double> scores_b,
                                                absl::Span<const double> labels) {
  constexpr char kWhere[] = "CompareAucsDeLong";
  SCV_RETURN_IF_ERROR(CheckInputs(kWhere, scores_a, labels, 2));
  SCV_RETURN_IF_ERROR(CheckInputs(kWhere, scores_b, labels, 2));
  const Placements a = ComputePlacements(scores_a, labels);
  const Placements b = ComputePlacements(scores_b, labels);
  AucComparison result;
  result.auc_a = a.auc;
  result.auc_b = b.auc;
  result.difference = a.auc - b.auc;
  result.covariance = DeLongCovariance(a, b);
  result.variance_difference =
      std::max(0.0, DeLongCovariance(a, a) + DeLongCovariance(b, b) - 2.0 * result.covariance);
  if (result.variance_difference > 0.0) {
    result.z = result.difference / std::sqrt(result.variance_difference);
  } else if (result.difference != 0.0) {
    result.z = std::copysign(std::numeric_limits<double>::infinity(), result.difference);
  }
  result.p_value = TwoSidedNormalP(result.z);
  return result;
}

}  // namespace scancov::stats
