// The AI-SCoRE-like classes' cut points chosen federated (models/scores/ai_score_cut_points.h,
// "at most 10% of deaths in the low class", the medium/high split by Gini) for a fitted
// logistic-regression study: a model-evaluation study of the fitted model on the same sites
// and the same rows the fit used (its split), whose pooled ROC counts at the 0.01 probability
// grid (= whole score points) the rule reads. Only counts that each site's release policy lets
// out are used (node/roc_release.h): with a minimum cell count above 1 the cuts fall on the
// thresholds every site released. `scancov-coord export-model --choose-cut-points` runs it.
//
// Thread safety: pure functions.
#ifndef SCANCOV_AGGREGATOR_CUT_POINTS_H_
#define SCANCOV_AGGREGATOR_CUT_POINTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/ai_score_cut_points.h"
#include "protocol/scancov.pb.h"

namespace scancov::aggregator {

// The evaluation study (named `name`) of `fitted`'s model, coefficients `beta` (intercept
// first). InvalidArgument when `fitted` is not a logistic-regression study.
// `step` is the spacing of the candidate cuts in score points (1..50, dividing 100): a coarser
// grid lets a small site release more of its counts (each bin holds more patients).
absl::StatusOr<v1::StudySpec> CutPointStudySpec(const v1::StudyStatus& fitted,
                                                const std::vector<double>& beta,
                                                const std::string& name, int step = 1);

// The cut points from the finished evaluation study's pooled ROC counts. FailedPrecondition
// when the study has no pooled curve (not done, or every site refused), and the rule's errors.
absl::StatusOr<scores::AiScoreBinning> CutPointsFromEvaluation(
    const v1::StudyStatus& evaluation, const scores::CutPointOptions& options = {});

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_CUT_POINTS_H_
