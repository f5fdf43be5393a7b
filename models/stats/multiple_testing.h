// Adjusted p-values for a family of tests (the seed corrects over 58 variables), matching R's
// p.adjust(p, method = "bonferroni" | "holm" | "BH"): a test is significant at level alpha
// when its adjusted p-value is <= alpha. Adjusted values are capped at 1 and returned in the
// input order.
//
// Errors: InvalidArgument when `p_values` is empty or holds a value outside (0, 1] or NaN.
#ifndef SCANCOV_MODELS_STATS_MULTIPLE_TESTING_H_
#define SCANCOV_MODELS_STATS_MULTIPLE_TESTING_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::stats {

enum class Adjustment {
  kBonferroni,         // min(1, m p): family-wise error
  kHolm,               // step-down Bonferroni: family-wise error, uniformly more powerful
  kBenjaminiHochberg,  // false discovery rate (independent or positively dependent tests)
};

absl::StatusOr<std::vector<double>> AdjustPValues(absl::Span<const double> p_values,
                                                  Adjustment method);

}  // namespace scancov::stats

#endif  // SCANCOV_MODELS_STATS_MULTIPLE_TESTING_H_
