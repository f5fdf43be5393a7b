// Risk groups from a predicted probability: the seed's terciles (low / medium / high) and the
// press release's 1 (very low) to 5 (very high) scale.
//
// Terciles (Lassau et al. 2021, Figure 4): "high risk" is the top tercile of the training
// scores, i.e. probability >= the 2/3-quantile of the training set's probabilities; "low" is
// below the 1/3-quantile. Boundaries belong to the upper class:
//   low: p < low_medium;  medium: low_medium <= p < medium_high;  high: p >= medium_high.
// Published ScanCov terciles: 0.144 and 0.369 (RiskThresholds' defaults); AI-severity: 0.187
// and 0.375 (published_models.h).
//
// The 1-5 scale. The press release shows ScanCov in clinical routine as "1 (very low risk) to 5
// (very high risk)" without saying how. Our mapping: five bands of equal width on the log-odds
// scale, the middle band being exactly the medium tercile. With the tercile thresholds t1, t2
// and w = logit(t2) - logit(t1), the cut points are
//   c1 = sigmoid(logit(t1) - w), c2 = t1, c3 = t2, c4 = sigmoid(logit(t2) + w),
// and level = 1 + number of cut points <= p. For 0.144 / 0.369 (w = 1.2459):
//   1 very low  p < 0.0462;  2 low  0.0462 <= p < 0.144;  3 medium  0.144 <= p < 0.369;
//   4 high  0.369 <= p < 0.670;  5 very high  p >= 0.670.
// Why: (a) 3 is the medium tercile and levels 1-2 / 4-5 split the low / high terciles, so the
// scale refines the seed's validated classes instead of contradicting them; (b) each level
// multiplies the odds of a severe outcome by the same factor (exp(w) = 3.48), the natural
// spacing for a logistic score, and it needs nothing the seed did not publish (the quintiles of
// the KB training scores are not published); (c) "very high" starts at about 2/3: a severe
// outcome is then twice as likely as not. When the terciles are re-estimated on other
// training data (TercileThresholds), the same rule gives the matching scale.
//
// Thread safety: pure functions.
#ifndef SCANCOV_MODELS_SCORES_RISK_CLASSES_H_
#define SCANCOV_MODELS_SCORES_RISK_CLASSES_H_

#include <array>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::scores {

enum class RiskClass { kLow, kMedium, kHigh };
const char* RiskClassName(RiskClass risk_class);  // "low", "medium", "high"

struct RiskThresholds {
  double low_medium = 0.144;   // 1/3-quantile of the training probabilities
  double medium_high = 0.369;  // 2/3-quantile
};

// InvalidArgument unless 0 < low_medium < medium_high < 1.
absl::Status CheckRiskThresholds(const RiskThresholds& thresholds);

RiskClass ClassifyRisk(double probability, const RiskThresholds& thresholds);

// The 1/3- and 2/3-quantiles of training probabilities (linear interpolation between order
// statistics, R's quantile type 7 = numpy's default). Errors: InvalidArgument for fewer than 3
// values, a value outside (0, 1) or not finite, or quantiles that are not strictly increasing
// (too many ties).
absl::StatusOr<RiskThresholds> TercileThresholds(absl::Span<const double> training_probabilities);

// The R type 7 quantile of `values` (unsorted, non-empty, finite) at q in [0, 1].
double Quantile(absl::Span<const double> values, double q);

// The four cut points of the 1-5 scale derived from the terciles (see the header comment).
struct FiveLevelScale {
  std::array<double, 4> cuts = {0.0, 0.0, 0.0, 0.0};  // increasing probabilities
};
FiveLevelScale FiveLevelScaleFromTerciles(const RiskThresholds& thresholds);

// 1..5: 1 + the number of cut points <= probability.
int FiveLevel(double probability, const FiveLevelScale& scale);
// "very low", "low", "medium", "high", "very high" for 1..5.
const char* FiveLevelName(int level);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_RISK_CLASSES_H_
