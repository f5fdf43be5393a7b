#include "models/scores/stratified_folds.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "core/status_macros.h"
#include "models/scores/risk_classes.h"
#include "models/stats/input_checks.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "stratified folds";

// Bin index of each patient: 0..num_bins-1 by age quantile, num_bins for unknown age.
std::vector<int> AgeBins(absl::Span<const double> age, size_t n, int num_bins) {
  std::vector<int> bins(n, 0);
  if (age.empty()) return bins;
  std::vector<double> known;
  for (double a : age) {
    if (!std::isnan(a)) known.push_back(a);
  }
  std::vector<double> cuts;
  if (!known.empty()) {
    for (int b = 1; b < num_bins; ++b) cuts.push_back(Quantile(known, double(b) / num_bins));
  }
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(age[i])) {
      bins[i] = num_bins;
    } else {
      // Number of cuts strictly below the age: ties at a cut go to the lower bin.
      bins[i] = static_cast<int>(std::lower_bound(cuts.begin(), cuts.end(), age[i]) - cuts.begin());
    }
  }
  return bins;
}

}  // namespace

absl::StatusOr<std::vector<int>> StratifiedFolds(absl::Span<const double> outcome,
                                                 absl::Span<const double> age,
                                                 const FoldOptions& options) {
  SCV_RETURN_IF_ERROR(stats::CheckNonEmpty(kWhere, "outcome", outcome));
  SCV_RETURN_IF_ERROR(stats::CheckBinary(kWhere, "outcome", outcome));
  if (!age.empty()) {
    SCV_RETURN_IF_ERROR(stats::CheckLength(kWhere, "age", age.size(), "outcome", outcome.size()));
    for (size_t i = 0; i < age.size(); ++i) {
      if (std::isinf(age[i])) {
        return absl::InvalidArgumentError(absl::StrCat(kWhere, ": age ", i, " is infinite"));
      }
    }
  }
  if (options.num_folds < 2 || options.num_age_bins < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": need num_folds >= 2 and num_age_bins >= 1"));
  }
  int64_t events = 0;
  for (double y : outcome) events += y == 1.0 ? 1 : 0;
  const int64_t n = static_cast<int64_t>(outcome.size());
  if (events < options.num_folds || n - events < options.num_folds) {
    return absl::FailedPreconditionError(absl::StrCat(
        kWhere, ": each outcome class needs at least ", options.num_folds, " patients"));
  }
  const std::vector<int> bins = AgeBins(age, outcome.size(), options.num_age_bins);
  std::map<std::pair<int, int>, std::vector<size_t>> strata;  // ordered: deterministic
  for (size_t i = 0; i < outcome.size(); ++i) {
    strata[{bins[i], static_cast<int>(outcome[i])}].push_back(i);
  }
  Random random(options.seed);
  std::vector<int> folds(outcome.size(), 0);
  int next = 0;
  for (auto& [key, members] : strata) {
    std::shuffle(members.begin(), members.end(), random.engine());
    for (size_t i : members) {
      folds[i] = next;
      next = (next + 1) % options.num_folds;
    }
  }
  return folds;
}

}  // namespace scancov::scores
