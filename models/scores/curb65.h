// CURB-65, the pneumonia severity score (Lim et al., Thorax 2003;58:377-382, Figure 2), used
// by the ScanCov seed as a comparison score. One point each for:
//   C  confusion (new mental confusion: AMT <= 8 or new disorientation)   input: confusion
//   U  urea > 7 mmol/L                                                    input: urea
//   R  respiratory rate >= 30 /min                                        input: respiratory_rate
//   B  systolic < 90 mmHg or diastolic <= 60 mmHg               inputs: systolic_bp, diastolic_bp
//   65 age >= 65 years                                                    input: age
// Score 0-5. Lim et al.'s groups (30-day mortality): 0-1 low, 2 intermediate, 3-5 high
// (Curb65Group).
//
// Missing inputs (default MissingInputPolicy::kPartial, points_score.h): a criterion whose input
// is missing counts as absent (0 points) and is listed in `missing`; `max_points` counts it as
// met. Confusion is rarely charted in an admission table (the seed's cohorts did not have it),
// and an unrecorded criterion is how clinicians score it at the bedside, so the partial score is
// the useful one, clearly flagged. Criterion B is determined as soon as one of its two pressures
// meets it; otherwise a missing pressure makes it partial. kRefuse: FailedPrecondition listing
// every missing input that would change the score.
#ifndef SCANCOV_MODELS_SCORES_CURB65_H_
#define SCANCOV_MODELS_SCORES_CURB65_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/points_score.h"

namespace scancov::scores {

// Every input Curb65 reads (PatientInputs names), so that a caller can ask for exactly these.
const std::vector<std::string>& Curb65Inputs();

absl::StatusOr<PointsScore> Curb65(const PatientInputs& inputs,
                                   MissingInputPolicy policy = MissingInputPolicy::kPartial);

enum class Curb65Group { kLow, kIntermediate, kHigh };  // 0-1, 2, 3-5
Curb65Group Curb65GroupOf(int points);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_CURB65_H_
