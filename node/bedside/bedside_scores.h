// The scores of bedside scoring, from the clinical values and the CT quantification.
//
// CT-derived inputs (patient_inputs.h names) added to the clinical values:
//   disease_extent             ExtentScore of both lungs' lesion % (0 none, 1 < 10%, 2 10-25%,
//                              3 25-50%, 4 50-75%, 5 >= 75%): the radiologist's visual 0-5 score
//                              of the ScanCov paper, here measured on the lesion map. The paper
//                              fitted ScanCov on the radiologist's score; the CT-derived one uses
//                              the same bins, so it can stand in for it, but a systematic
//                              difference between the two readers shifts the score (a lesion
//                              map that over-calls GGO raises the extent).
//   well_aerated_lung_percent  AI-SCoRE's well-aerated % of the lung volume (hu_intervals.h
//                              defaults, as the node's CT features: the model file was fitted on
//                              those).
//   calcium_volume_mm3         cardiovascular calcium (models/ct/calcium.h), when measured.
//
// Scores:
//   ScanCov   released model (models/scores/scancov_score.h): linear predictor, probability,
//             tercile class, the 1-5 scale. Not available when an input is missing or
//             implausible; `reason` carries the scores library's message (input named, value
//             never quoted).
//   AI-SCoRE  only with a model file (aiscore_model.h); otherwise "not available (no fitted
//             model)": no coefficients are invented.
//   CURB-65, CALL  partial scores (missing criteria scored absent and listed), as
//             models/scores documents them; implausible inputs make them unavailable.
#ifndef SCANCOV_NODE_BEDSIDE_BEDSIDE_SCORES_H_
#define SCANCOV_NODE_BEDSIDE_BEDSIDE_SCORES_H_

#include <optional>

#include "node/bedside/aiscore_model.h"
#include "node/bedside/bedside_result.h"

namespace scancov::node {

inline constexpr char kAiScoreNoModel[] = "not available (no fitted model)";

// Every problem with the clinical values (unknown names, implausible values), or empty.
std::vector<std::string> ClinicalInputProblems(const scores::PatientInputs& clinical);

// Sets result.inputs (clinical + CT-derived, from result's quantification) and every score.
// `aiscore_model` is null when no model file was given.
void ComputeBedsideScores(const scores::PatientInputs& clinical,
                          const AiScoreModelFile* aiscore_model, BedsideResult& result);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_BEDSIDE_BEDSIDE_SCORES_H_
