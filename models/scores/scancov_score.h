// The ScanCov score for one patient: the 6-variable trimodal model of Lassau et al. 2021
// (SpO2, disease extent from the radiology report, age, sex, platelets, urea), its probability
// of a severe outcome (O2 >= 15 L/min, mechanical ventilation or death), its tercile risk class
// and the 1-5 scale (risk_classes.h explains both).
//
// Which coefficients (published_models.h):
//  - default: the authors' released model, intercept -2.31389 (ScanCovReleasedModel()); its
//    probabilities are on the scale of the published terciles 0.144 / 0.369;
//  - the paper's Supp Table 6 coefficients (ScanCovPaperModel()) have no intercept: use them
//    with an intercept calibrated on the federation's data (intercept_calibration.h), and
//    terciles re-estimated from the training scores (TercileThresholds).
//
// Inputs: spo2 %, disease_extent 0-5, age years, sex (1 male, 0 female), platelets G/L, urea
// mmol/L. All six are required; a missing input gives FailedPrecondition naming it, an
// implausible one InvalidArgument (e.g. "scancov_released: platelets: implausible value,
// expected 1..2000 G/L (looks like a count per uL; ...)"). There is no partial score.
//
// Thread safety: immutable after construction; Compute is const.
#ifndef SCANCOV_MODELS_SCORES_SCANCOV_SCORE_H_
#define SCANCOV_MODELS_SCORES_SCANCOV_SCORE_H_

#include "absl/status/statusor.h"
#include "models/scores/linear_model.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/risk_classes.h"

namespace scancov::scores {

struct ScanCovResult {
  double linear_predictor = 0.0;  // intercept included
  double probability = 0.0;
  RiskClass risk_class = RiskClass::kLow;
  int level = 1;  // 1 (very low) .. 5 (very high)
};

class ScanCovScore {
 public:
  // The released model with the published terciles.
  ScanCovScore();

  // Any model with the ScanCov role (e.g. the paper's coefficients with a calibrated intercept,
  // or a federated refit). InvalidArgument when the model has no intercept or the thresholds
  // are not increasing probabilities.
  static absl::StatusOr<ScanCovScore> Create(LinearModelSpec model, RiskThresholds thresholds);
  // Supp Table 6 coefficients with `intercept` (e.g. from CalibrateIntercept).
  static absl::StatusOr<ScanCovScore> FromPaperCoefficients(double intercept,
                                                            RiskThresholds thresholds = {});

  absl::StatusOr<ScanCovResult> Compute(const PatientInputs& inputs) const;

  const LinearModelSpec& model() const { return model_; }
  const RiskThresholds& thresholds() const { return thresholds_; }
  const FiveLevelScale& scale() const { return scale_; }

 private:
  ScanCovScore(LinearModelSpec model, RiskThresholds thresholds);

  LinearModelSpec model_;
  RiskThresholds thresholds_;
  FiveLevelScale scale_;
};

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_SCANCOV_SCORE_H_
