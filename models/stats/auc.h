// The area under the ROC curve with DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988,
// computed in O(n log n) with midranks as in Sun & Xu 2014), and DeLong's test between two
// correlated AUCs measured on the same patients.
//
// Conventions: labels are 0/1, a higher score means "more likely 1", the AUC is the
// Mann-Whitney probability P(score_pos > score_neg) + P(tie) / 2 (no automatic direction
// flip, so it can be below 0.5). In R: pROC::roc(labels, scores, direction = "<").
//
// Intervals at `confidence_level` are
//  - AucInterval::kPlain (pROC's ci.auc(method = "delong") default): AUC +- z * sqrt(var),
//    clipped to [0, 1] as pROC does;
//  - AucInterval::kLogit: computed on logit(AUC) with the delta-method SE
//    sqrt(var) / (AUC (1 - AUC)), then transformed back; stays inside (0, 1) (undefined,
//    so NaN, at AUC 0 or 1).
//
// Errors: InvalidArgument for empty or mismatched inputs, NaN or infinite scores, labels not
// 0/1; FailedPrecondition when a class has fewer than 2 members (DeLong's variance needs 2;
// Auc() alone needs 1).
#ifndef SCANCOV_MODELS_STATS_AUC_H_
#define SCANCOV_MODELS_STATS_AUC_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

enum class AucInterval { kPlain, kLogit };

struct AucResult {
  double auc = 0.5;
  double variance = 0.0;  // DeLong
  double standard_error = 0.0;
  double ci_lower = 0.0;
  double ci_upper = 1.0;
  int64_t num_positive = 0;
  int64_t num_negative = 0;
};

// The AUC alone (Mann-Whitney).
absl::StatusOr<double> Auc(absl::Span<const double> scores, absl::Span<const double> labels);

absl::StatusOr<AucResult> AucWithDeLong(absl::Span<const double> scores,
                                        absl::Span<const double> labels,
                                        double confidence_level = 0.95,
                                        AucInterval interval = AucInterval::kPlain);

// DeLong's test of AUC(scores_a) = AUC(scores_b) on the same patients (paired).
// pROC::roc.test(roc_a, roc_b, method = "delong", paired = TRUE).
struct AucComparison {
  double auc_a = 0.5;
  double auc_b = 0.5;
  double difference = 0.0;           // auc_a - auc_b
  double variance_difference = 0.0;  // var_a + var_b - 2 cov_ab
  double covariance = 0.0;           // cov_ab (DeLong)
  double z = 0.0;                    // difference / sqrt(variance_difference); 0 when both are 0
  double p_value = 1.0;              // two-sided
};

absl::StatusOr<AucComparison> CompareAucsDeLong(absl::Span<const double> scores_a,
                                                absl::Span<const double> scores_b,
                                                absl::Span<const double> labels);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_AUC_H_
