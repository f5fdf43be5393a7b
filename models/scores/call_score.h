// The CALL score for progression of COVID-19 pneumonia (Ji et al., Clin Infect Dis 2020;
// 71:1393-1399, Table 3), a comparison score of the ScanCov seed. Points:
//   Comorbidity     without 1, with 4
//   Age             <= 60 years 1, > 60 years 3
//   Lymphocytes     > 1.0 G/L 1, <= 1.0 G/L 3
//   LDH             <= 250 U/L 1, 251-500 U/L 2, > 500 U/L 3 (we read "251-500" as
//                   250 < LDH <= 500, as the seed's authors did, so non-integer LDH has a class)
// Total 4-13; Ji et al.'s classes: A 4-6 (low), B 7-9 (intermediate), C 10-13 (high).
//
// Comorbidity: Ji et al. count hypertension, diabetes, cardiovascular disease, chronic lung
// disease or HIV infection for at least 6 months. Our inputs: `comorbidity` (0/1) when given;
// otherwise derived, as the ScanCov seed did, from heart_disease, asthma, emphysema, diabetes,
// hypertension: 1 if any is 1, 0 if all five are present and 0, missing otherwise.
//
// Missing inputs (default MissingInputPolicy::kPartial, points_score.h): a missing item gets
// its lowest points (comorbidity 1, age 1, lymphocytes 1, LDH 1), is listed in `missing`, and
// `max_points` gives it its highest. kRefuse: FailedPrecondition naming the missing inputs.
#ifndef SCANCOV_MODELS_SCORES_CALL_SCORE_H_
#define SCANCOV_MODELS_SCORES_CALL_SCORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"
#include "models/scores/points_score.h"

namespace scancov::scores {

// Every input CallScore reads (PatientInputs names), the comorbidity flags included.
const std::vector<std::string>& CallScoreInputs();

absl::StatusOr<PointsScore> CallScore(const PatientInputs& inputs,
                                      MissingInputPolicy policy = MissingInputPolicy::kPartial);

enum class CallClass { kA, kB, kC };  // 4-6, 7-9, 10-13
CallClass CallClassOf(int points);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_CALL_SCORE_H_
