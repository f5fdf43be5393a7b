#include "models/stats/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/input_checks.h"

namespace scancov::stats {
namespace {

double Ratio(int64_t numerator, int64_t denominator) {
  if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

absl::Status CheckInputs(absl::string_view where, absl::Span<const double> scores,
                         absl::Span<const double> labels) {
  SCV_RETURN_IF_ERROR(CheckNonEmpty(where, "labels", labels));
  SCV_RETURN_IF_ERROR(CheckLength(where, "scores", scores.size(), "labels", labels.size()));
  SCV_RETURN_IF_ERROR(CheckFinite(where, "scores", scores));
  return CheckBinary(where, "labels", labels);
}

}  // namespace

absl::StatusOr<ThresholdMetrics> MetricsAtThreshold(absl::Span<const double> scores,
                                                    absl::Span<const double> labels,
                                                    double threshold) {
  constexpr char kWhere[] = "MetricsAtThreshold";
  SCV_RETURN_IF_ERROR(CheckInputs(kWhere, scores, labels));
  if (std::isnan(threshold)) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": threshold is NaN"));
  }
  ThresholdMetrics m;
  m.threshold = threshold;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] >= threshold;
    const bool actual = labels[i] == 1.0;
    if (predicted && actual) ++m.true_positives;
    if (predicted && !actual) ++m.false_positives;
    if (!predicted && !actual) ++m.true_negatives;
    if (!predicted && actual) ++m.false_negatives;
  }
  m.sensitivity = Ratio(m.true_positives, m.true_positives + m.false_negatives);
  m.specificity = Ratio(m.true_negatives, m.true_negatives + m.false_positives);
  m.ppv = Ratio(m.true_positives, m.true_positives + m.false_positives);
  m.npv = Ratio(m.true_negatives, m.true_negatives + m.false_negatives);
  return m;
}

absl::StatusOr<std::vector<RocPoint>> RocCurve(absl::Span<const double> scores,
                                               absl::Span<const double> labels) {
  constexpr char kWhere[] = "RocCurve";
  SCV_RETURN_IF_ERROR(CheckInputs(kWhere, scores, labels));
  const int64_t positives = std::count(labels.begin(), labels.end(), 1.0);
  const int64_t negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": needs both classes"));
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<RocPoint> curve;
  curve.push_back({std::numeric_limits<double>::infinity(), 0.0, 0.0});
  int64_t tp = 0;
  int64_t fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (labels[order[i]] == 1.0 ? tp : fp) += 1;
    // Emit a point after the last patient of each run of tied scores.
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      curve.push_back({scores[order[i]], Ratio(fp, negatives), Ratio(tp, positives)});
    }
  }
  return curve;
}

}  // namespace scancov::stats
