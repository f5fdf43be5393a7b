// Choosing the AI-SCoRE-like score's class boundaries from training data.
//
// The seed (AI-SCoRE) binned its 0-100 score into three classes with a classification tree
// (rpart), "with a maximum of 10% of false negatives in the low-risk bin", accepting a low
// specificity for the medium and high classes; it found 23 and 45. Our documented rule:
//
//  1. low / medium: the largest cut c such that at most `max_low_death_fraction` (10%) of the
//     training deaths have a score < c. With the deaths' scores sorted d_(1) <= ... <= d_(D)
//     and k = floor(0.10 D), that is c = d_(k+1): any larger cut would put k + 1 deaths in the
//     low class. The low class is thus as large as the constraint allows.
//  2. medium / high: among the patients with score >= c, the single split "score >= h" that
//     minimises the size-weighted Gini impurity of death, n_m 2 p_m (1 - p_m) + n_h 2 p_h
//     (1 - p_h) (the criterion rpart uses for its next split), with at least `min_class_size`
//     patients on each side (rpart's default minbucket is 7); the smallest h wins ties.
//  With `round_to_integer` (default) both cuts are integers, as the seed's 23 and 45: c is
//  rounded down (which can only lower the deaths in the low class, so the 10% bound holds) and
//  h ranges over integers.
//
// Federated (ChooseAiScoreCutPointsFromCounts): the same rule from counts only, the ROC counts
// of a model-evaluation study of the fitted model on its training rows (models/stats
// roc_counts.h: events and non-events with probability >= t, summed over sites at the
// thresholds every site released). A score cut c is the probability threshold c / 100, so the
// candidates are the released thresholds: with every 0.01 step released (a minimum cell count of
// 1) the result equals ChooseAiScoreCutPoints on the pooled scores with round_to_integer; with
// coarser releases the cuts are the best the released thresholds allow (the 10% bound holds).
//
// Thread safety: pure functions.
#ifndef SCANCOV_MODELS_SCORES_AI_SCORE_CUT_POINTS_H_
#define SCANCOV_MODELS_SCORES_AI_SCORE_CUT_POINTS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "models/scores/ai_score.h"
#include "models/stats/roc_counts.h"

namespace scancov::scores {

struct CutPointOptions {
  double max_low_death_fraction = 0.10;  // in [0, 1)
  int min_class_size = 7;                // patients in the medium and in the high class
  bool round_to_integer = true;
};

struct ClassSummary {
  int64_t patients = 0;
  int64_t deaths = 0;
  double mortality() const { return patients > 0 ? static_cast<double>(deaths) / patients : 0.0; }
};

struct AiScoreBinning {
  AiScoreCutPoints cut_points;
  ClassSummary low, medium, high;   // on the training data
  double low_death_fraction = 0.0;  // deaths in the low class / all deaths
};

// `scores` in [0, 100] (finite), `death` 0/1, same length, at least one death. Errors:
// InvalidArgument for bad inputs or options; FailedPrecondition when no medium/high split
// leaves `min_class_size` patients on each side.
absl::StatusOr<AiScoreBinning> ChooseAiScoreCutPoints(absl::Span<const double> scores,
                                                      absl::Span<const double> death,
                                                      const CutPointOptions& options = {});

// From the pooled ROC counts of the training rows (see the header comment). With
// `round_to_integer`, thresholds that are not a whole score (k / 100) are not candidates.
// Errors: InvalidArgument for an invalid curve, no deaths or bad options; FailedPrecondition
// when no medium/high split leaves `min_class_size` patients on each side.
absl::StatusOr<AiScoreBinning> ChooseAiScoreCutPointsFromCounts(
    const stats::GridRoc& roc, const CutPointOptions& options = {});

// The class sizes and mortality of `scores` binned by `cut_points` (for reports and tests).
// InvalidArgument for bad inputs.
absl::StatusOr<AiScoreBinning> SummarizeAiScoreBinning(absl::Span<const double> scores,
                                                       absl::Span<const double> death,
                                                       const AiScoreCutPoints& cut_points);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_AI_SCORE_CUT_POINTS_H_
