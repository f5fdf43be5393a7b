// Threshold metrics of a binary classifier and its ROC curve.
//
// Convention: a patient is predicted positive when score >= threshold (the same rule as
// scikit-learn's roc_curve and pROC's direction "<"). Ratios whose denominator is zero (e.g.
// PPV when nobody is predicted positive) are NaN; the counts are always given so a report can
// say why.
//
// Errors: InvalidArgument for empty or mismatched inputs, NaN or infinite scores, labels not
// 0/1, a NaN threshold.
#ifndef SCANCOV_MODELS_STATS_CLASSIFICATION_METRICS_H_
#define SCANCOV_MODELS_STATS_CLASSIFICATION_METRICS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

struct ThresholdMetrics {
  double threshold = 0.0;
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t true_negatives = 0;
  int64_t false_negatives = 0;
  double sensitivity = 0.0;  // TP / (TP + FN)
  double specificity = 0.0;  // TN / (TN + FP)
  double ppv = 0.0;          // TP / (TP + FP)
  double npv = 0.0;          // TN / (TN + FN)
};

absl::StatusOr<ThresholdMetrics> MetricsAtThreshold(absl::Span<const double> scores,
                                                    absl::Span<const double> labels,
                                                    double threshold);

struct RocPoint {
  double threshold = 0.0;  // +infinity for the first point (nobody positive)
  double false_positive_rate = 0.0;
  double true_positive_rate = 0.0;
};

// One point per distinct score, in decreasing threshold order, preceded by (0, 0) at +inf and
// ending at (1, 1): scikit-learn's roc_curve(drop_intermediate=False). Needs both classes
// (FailedPrecondition otherwise).
absl::StatusOr<std::vector<RocPoint>> RocCurve(absl::Span<const double> scores,
                                               absl::Span<const double> labels);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_CLASSIFICATION_METRICS_H_
