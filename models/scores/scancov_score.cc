#include "models/scores/scancov_score.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/scores/published_models.h"

namespace scancov::scores {

ScanCovScore::ScanCovScore() : ScanCovScore(ScanCovReleasedModel(), RiskThresholds{}) {}

ScanCovScore::ScanCovScore(LinearModelSpec model, RiskThresholds thresholds)
    : model_(std::move(model)),
      thresholds_(thresholds),
      scale_(FiveLevelScaleFromTerciles(thresholds)) {}

absl::StatusOr<ScanCovScore> ScanCovScore::Create(LinearModelSpec model,
                                                  RiskThresholds thresholds) {
  if (!model.intercept.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scancov score: model ", model.name, " has no intercept"));
  }
  SCV_RETURN_IF_ERROR(Annotate(CheckRiskThresholds(thresholds), "scancov score"));
  return ScanCovScore(std::move(model), thresholds);
}

absl::StatusOr<ScanCovScore> ScanCovScore::FromPaperCoefficients(double intercept,
                                                                 RiskThresholds thresholds) {
  LinearModelSpec model = WithIntercept(ScanCovPaperModel(), intercept);
  model.name = "scancov_paper_calibrated";
  return Create(std::move(model), thresholds);
}

absl::StatusOr<ScanCovResult> ScanCovScore::Compute(const PatientInputs& inputs) const {
  SCV_ASSIGN_OR_RETURN(const LinearScore score, EvaluateLinearModel(model_, inputs));
  ScanCovResult result;
  result.linear_predictor = score.linear_predictor;
  result.probability = score.probability;
  result.risk_class = ClassifyRisk(score.probability, thresholds_);
  result.level = FiveLevel(score.probability, scale_);
  return result;
}

}  // namespace scancov::scores
