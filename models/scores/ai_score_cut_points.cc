#include "models/scores/ai_score_cut_points.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/input_checks.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "ai-score cut points";

absl::Status CheckInputs(absl::Span<const double> scores, absl::Span<const double> death) {
  SCV_RETURN_IF_ERROR(stats::CheckNonEmpty(kWhere, "scores", scores));
  SCV_RETURN_IF_ERROR(stats::CheckLength(kWhere, "death", death.size(), "scores", scores.size()));
  SCV_RETURN_IF_ERROR(stats::CheckFinite(kWhere, "scores", scores));
  SCV_RETURN_IF_ERROR(stats::CheckBinary(kWhere, "death", death));
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] < 0.0 || scores[i] > 100.0) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": score ", i, " is outside 0..100"));
    }
  }
  return absl::OkStatus();
}

// Size-weighted Gini impurity of a group: n * 2 p (1 - p).
double WeightedGini(double n, double deaths) {
  if (n <= 0.0) return 0.0;
  const double p = deaths / n;
  return n * 2.0 * p * (1.0 - p);
}

}  // namespace

absl::StatusOr<AiScoreBinning> SummarizeAiScoreBinning(absl::Span<const double> scores,
                                                       absl::Span<const double> death,
                                                       const AiScoreCutPoints& cut_points) {
  SCV_RETURN_IF_ERROR(CheckInputs(scores, death));
  AiScoreBinning binning;
  binning.cut_points = cut_points;
  int64_t total_deaths = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    ClassSummary* c = nullptr;
    switch (ClassifyAiScore(scores[i], cut_points)) {
      case AiScoreClass::kLow:
        c = &binning.low;
        break;
      case AiScoreClass::kMedium:
        c = &binning.medium;
        break;
      case AiScoreClass::kHigh:
        c = &binning.high;
        break;
    }
    ++c->patients;
    if (death[i] == 1.0) {
      ++c->deaths;
      ++total_deaths;
    }
  }
  binning.low_death_fraction =
      total_deaths > 0 ? static_cast<double>(binning.low.deaths) / total_deaths : 0.0;
  return binning;
}

namespace {

// Step 1 of the rule: the (k+1)-th smallest death score, k = floor(fraction x deaths).
absl::StatusOr<double> LowCut(absl::Span<const double> scores, absl::Span<const double> death,
                              const CutPointOptions& options) {
  std::vector<double> death_scores;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (death[i] == 1.0) death_scores.push_back(scores[i]);
  }
  if (death_scores.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no deaths in the training data"));
  }
  std::sort(death_scores.begin(), death_scores.end());
  // A tiny slack so that 0.1 x 50 counts as 5, not 4.999...
  const size_t k =
      static_cast<size_t>(std::floor(options.max_low_death_fraction * death_scores.size() + 1e-9));
  const double low = death_scores[k];  // k < size since the fraction is < 1
  return options.round_to_integer ? std::floor(low) : low;
}

// Step 2: the Gini-optimal medium/high split of the patients at or above `low`.
absl::StatusOr<double> HighCut(absl::Span<const double> scores, absl::Span<const double> death,
                               double low, const CutPointOptions& options) {
  std::vector<std::pair<double, double>> rest;  // (score, death), sorted by score
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] >= low) rest.emplace_back(scores[i], death[i]);
  }
  std::sort(rest.begin(), rest.end());
  std::vector<double> cumulative_deaths(rest.size() + 1, 0.0);
  for (size_t i = 0; i < rest.size(); ++i) {
    cumulative_deaths[i + 1] = cumulative_deaths[i] + rest[i].second;
  }
  std::vector<double> candidates;
  if (options.round_to_integer) {
    for (int h = static_cast<int>(low) + 1; h <= 100; ++h) candidates.push_back(h);
  } else {
    for (const auto& [s, d] : rest) {
      if (s > low && (candidates.empty() || candidates.back() != s)) candidates.push_back(s);
    }
  }
  const double min_size = options.min_class_size;
  double best_impurity = std::numeric_limits<double>::infinity();
  double best_h = 0.0;
  for (double h : candidates) {
    const size_t n_medium = static_cast<size_t>(
        std::lower_bound(rest.begin(), rest.end(), std::make_pair(h, -1.0)) - rest.begin());
    const double n_high = static_cast<double>(rest.size() - n_medium);
    if (static_cast<double>(n_medium) < min_size || n_high < min_size) continue;
    const double d_medium = cumulative_deaths[n_medium];
    const double d_high = cumulative_deaths[rest.size()] - d_medium;
    const double impurity =
        WeightedGini(static_cast<double>(n_medium), d_medium) + WeightedGini(n_high, d_high);
    if (impurity < best_impurity) {
      best_impurity = impurity;
      best_h = h;
    }
  }
  if (!std::isfinite(best_impurity)) {
    return absl::FailedPreconditionError(absl::StrCat(kWhere, ": no medium/high split leaves ",
                                                      options.min_class_size,
                                                      " patients on each side above the low cut"));
  }
  return best_h;
}

}  // namespace

absl::StatusOr<AiScoreBinning> ChooseAiScoreCutPoints(absl::Span<const double> scores,
                                                      absl::Span<const double> death,
                                                      const CutPointOptions& options) {
  SCV_RETURN_IF_ERROR(CheckInputs(scores, death));
  if (!(options.max_low_death_fraction >= 0.0 && options.max_low_death_fraction < 1.0) ||
      options.min_class_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": max_low_death_fraction must be in [0, 1) and min_class_size positive"));
  }
  SCV_ASSIGN_OR_RETURN(const double low, LowCut(scores, death, options));
  SCV_ASSIGN_OR_RETURN(const double high, HighCut(scores, death, low, options));
  return SummarizeAiScoreBinning(scores, death, AiScoreCutPoints{low, high});
}

namespace {

// A released point as a score cut: (cut, patients at or above it, deaths at or above it).
struct CountCut {
  double cut = 0.0;
  int64_t patients = 0, deaths = 0;
};

std::vector<CountCut> CountCuts(const stats::GridRoc& roc, bool round_to_integer) {
  // Every patient scores >= 0, whatever was released.
  std::vector<CountCut> cuts = {{0.0, roc.positives + roc.negatives, roc.positives}};
  for (const stats::GridRocPoint& p : roc.points) {
    double cut = 100.0 * p.threshold;
    if (round_to_integer) {
      if (std::abs(cut - std::round(cut)) > 1e-6) continue;
      cut = std::round(cut);
    }
    if (cut <= cuts.back().cut || cut > 100.0) continue;
    cuts.push_back({cut, p.true_positives + p.false_positives, p.true_positives});
  }
  return cuts;
}

}  // namespace

absl::StatusOr<AiScoreBinning> ChooseAiScoreCutPointsFromCounts(const stats::GridRoc& roc,
                                                                const CutPointOptions& options) {
  SCV_RETURN_IF_ERROR(stats::ValidateGridRoc(roc));
  if (!(options.max_low_death_fraction >= 0.0 && options.max_low_death_fraction < 1.0) ||
      options.min_class_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": max_low_death_fraction must be in [0, 1) and min_class_size positive"));
  }
  if (roc.positives < 1) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": no deaths in the training data"));
  }
  const std::vector<CountCut> cuts = CountCuts(roc, options.round_to_integer);
  const int64_t total = roc.positives + roc.negatives;
  // Step 1: the largest cut with at most k deaths below it (the same k as LowCut).
  const auto k = static_cast<int64_t>(
      std::floor(options.max_low_death_fraction * static_cast<double>(roc.positives) + 1e-9));
  size_t low = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (roc.positives - cuts[i].deaths <= k) low = i;
  }
  // Step 2: the Gini-optimal medium/high split above it, smallest cut on ties.
  const double min_size = options.min_class_size;
  double best_impurity = std::numeric_limits<double>::infinity();
  size_t high = 0;
  for (size_t i = low + 1; i < cuts.size(); ++i) {
    const double n_high = static_cast<double>(cuts[i].patients);
    const double n_medium = static_cast<double>(cuts[low].patients - cuts[i].patients);
    if (n_medium < min_size || n_high < min_size) continue;
    const double d_high = static_cast<double>(cuts[i].deaths);
    const double d_medium = static_cast<double>(cuts[low].deaths - cuts[i].deaths);
    const double impurity = WeightedGini(n_medium, d_medium) + WeightedGini(n_high, d_high);
    if (impurity < best_impurity) {
      best_impurity = impurity;
      high = i;
    }
  }
  if (!std::isfinite(best_impurity)) {
    return absl::FailedPreconditionError(
        absl::StrCat(kWhere, ": no medium/high split at a released threshold leaves ",
                     options.min_class_size, " patients on each side above the low cut"));
  }
  AiScoreBinning b;
  b.cut_points = AiScoreCutPoints{cuts[low].cut, cuts[high].cut};
  b.low = {total - cuts[low].patients, roc.positives - cuts[low].deaths};
  b.medium = {cuts[low].patients - cuts[high].patients, cuts[low].deaths - cuts[high].deaths};
  b.high = {cuts[high].patients, cuts[high].deaths};
  b.low_death_fraction = static_cast<double>(b.low.deaths) / static_cast<double>(roc.positives);
  return b;
}

}  // namespace scancov::scores
