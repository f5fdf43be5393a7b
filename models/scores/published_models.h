// The seed's published logistic models (Lassau et al., Nature Communications 2021; "ScanCov"),
// as data for EvaluateLinearModel (linear_model.h).
//
// Sources:
//  - Paper, Supp Table 6: the 6-variable ScanCov score's coefficients and transforms, without an
//    intercept: lp = -0.745 x (-log(1 + 100 - SpO2)) + 0.611 x extent + 0.025 x age
//    + 0.545 x sex - 0.838 x log(0.001 + platelets) + 0.608 x log(0.001 + urea).
//  - The authors' released models (owkin/scancovia, scan_cov_model.py, GPL-3.0; the numbers are
//    quoted as facts, no code is used): logistic regressions trained on 646 KB patients, with
//    the same transforms (SpO2 -> -log(1 + 100 - x); platelets, urea, LDH, neutrophils ->
//    log(0.001 + x); everything else as is) and an intercept. The coefficients below are given
//    at the precision of that release (MISSION.md quotes them rounded).
//
// Inputs (PatientInputs names and units): spo2 %, age years, sex 1 male, platelets G/L, urea
// mmol/L, ldh U/L, neutrophils G/L, binary flags 0/1; report variables: ggo and consolidation
// codes (0 absent, 1 non-rounded, 2 rounded; the models use "present" = code > 0, as the
// release's "Opacity" and "Condensation" are yes/no), crazy_paving, peripheral_topography
// ("Topography": 1 if subpleural), inferior_predominance, disease_extent 0-5; AI-segment
// markers ai_*_fraction = lesion voxels / lung voxels of both lungs (0-1), as the release
// computes them; ai_severity_probability in (0, 1), entered through its logit.
//
// Every model is computable only when all its inputs are present (FailedPrecondition naming the
// missing ones): none of them imputes.
#ifndef SCANCOV_MODELS_SCORES_PUBLISHED_MODELS_H_
#define SCANCOV_MODELS_SCORES_PUBLISHED_MODELS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/scores/linear_model.h"

namespace scancov::scores {

// ScanCov, released model ("Clinical and bio and radiologist report"), intercept -2.31389.
// The default ScanCov model: it has an intercept, so it yields probabilities, and the paper's
// tercile thresholds (0.144, 0.369) are probabilities.
const LinearModelSpec& ScanCovReleasedModel();
// ScanCov, paper's Supp Table 6: same variables and transforms, no intercept.
const LinearModelSpec& ScanCovPaperModel();
// Released "Clinical and bio" (bimodal C & B), 10 variables.
const LinearModelSpec& ClinicalBioModel();
// Released "Radiologist report" (RR), 6 report variables.
const LinearModelSpec& RadiologistReportModel();
// Released "AI-segment-ct": the four AI-segment markers only.
const LinearModelSpec& AiSegmentModel();
// Released trimodal "AI-segment": SpO2, AI extent fraction, age, sex, platelets, urea.
const LinearModelSpec& AiSegmentTrimodalModel();
// Released trimodal "AI-severity": SpO2, logit(AI-severity CT probability), age, sex,
// platelets, urea.
const LinearModelSpec& AiSeverityTrimodalModel();

// All of the above, in this order.
const std::vector<const LinearModelSpec*>& PublishedModels();
// By LinearModelSpec::name ("scancov_released", "scancov_paper", "clinical_bio",
// "radiologist_report", "ai_segment_ct", "ai_segment_trimodal", "ai_severity_trimodal");
// NotFound otherwise.
absl::StatusOr<const LinearModelSpec*> FindPublishedModel(absl::string_view name);

// The published risk terciles (probabilities) of the KB training scores.
inline constexpr double kScanCovTercileLow = 0.144;
inline constexpr double kScanCovTercileHigh = 0.369;
inline constexpr double kAiSeverityTercileLow = 0.187;
inline constexpr double kAiSeverityTercileHigh = 0.375;

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_PUBLISHED_MODELS_H_
