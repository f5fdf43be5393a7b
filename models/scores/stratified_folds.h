// Cross-validation folds stratified by outcome and age, as in the seed ("5 folds ... stratified
// by age and severity outcome").
//
// Rule: age is cut into `num_age_bins` bins at its quantiles (R type 7) over the patients with
// a known age; patients without an age form one more bin. A stratum is (age bin, outcome).
// Within each stratum, in a fixed stratum order, the patients are shuffled with
// scancov::Random(seed) and dealt to folds 0, 1, ..., num_folds - 1, 0, ... continuing the
// count across strata, so fold sizes differ by at most one and every fold gets its share of
// every stratum. Same inputs and seed, same folds.
//
// Thread safety: a pure function.
#ifndef SCANCOV_MODELS_SCORES_STRATIFIED_FOLDS_H_
#define SCANCOV_MODELS_SCORES_STRATIFIED_FOLDS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace scancov::scores {

struct FoldOptions {
  int num_folds = 5;
  int num_age_bins = 4;
  uint64_t seed = 0;
};

// fold[i] in [0, num_folds) for each patient. `outcome` is 0/1; `age` has the same length (NaN
// for unknown) or is empty (stratify by outcome only). InvalidArgument for mismatched or bad
// inputs, num_folds < 2, num_age_bins < 1; FailedPrecondition when an outcome class has fewer
// patients than folds (some fold would have no patient of that class, so no AUC).
absl::StatusOr<std::vector<int>> StratifiedFolds(absl::Span<const double> outcome,
                                                 absl::Span<const double> age,
                                                 const FoldOptions& options);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_STRATIFIED_FOLDS_H_
