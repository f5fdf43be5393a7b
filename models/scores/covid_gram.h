// COVID-GRAM, risk of critical illness in hospitalised COVID-19 (Liang et al., JAMA Intern Med
// 2020;180:1081-1089, Table 3), as the ScanCov seed computed it: a logistic model whose
// coefficients are the logs of the published odds ratios, with intercept log(0.001) (the paper
// gives odds ratios only; the intercept is the seed's choice and is kept so that our numbers
// compare with theirs):
//
//   lp = log(0.001) + log(3.39) xray_ct_abnormality + log(1.03) age + log(4.53) hemoptysis
//        + log(1.88) dyspnea + log(4.71) unconsciousness + log(1.60) comorbidity_count
//        + log(4.07) cancer + log(1.06) NLR + log(1.002) LDH + log(1.15) conjugated_bilirubin,
//   probability = sigmoid(lp).
//
// Units: age years, LDH U/L, conjugated (direct) bilirubin umol/L, NLR = neutrophils /
// lymphocytes (both G/L; lymphocytes + 0.01 G/L in the denominator, as the seed did, so the
// ratio stays finite at a lymphocyte count of 0).
// Liang et al.'s risk groups on this probability: low < 0.017, medium 0.017-0.404, high > 0.404.
//
// Derived inputs:
//   xray_ct_abnormality: `imaging_abnormality` when given, else disease_extent > 0 (the seed's
//     definition); missing when both are missing.
//   comorbidity_count: `comorbidity_count` when given, else the sum of the dictionary flags that
//     map to Liang et al.'s list (COPD = emphysema, hypertension, diabetes, coronary heart
//     disease = heart_disease, chronic kidney disease, cancer, immunodeficiency; cerebrovascular
//     disease and hepatitis B are not in the dictionary). Cancer is counted here and as its own
//     term, as in the original model.
//
// Missing inputs:
//   hemoptysis, unconsciousness: counted as absent and listed in `assumed_absent` (partial()),
//     exactly what the seed did ("we assume that patients were not unconscious at admission and
//     did not have hemoptysis": their cohorts did not record them);
//   comorbidity flags (when no comorbidity_count is given): a missing flag counts as absent and
//     is listed in `assumed_absent`; the count then is a lower bound;
//   everything else (imaging abnormality, age, dyspnea, cancer, neutrophils, lymphocytes, LDH,
//     conjugated bilirubin): not computable, FailedPrecondition naming them.
//   With `strict` = true, any assumed-absent input is refused as missing too.
#ifndef SCANCOV_MODELS_SCORES_COVID_GRAM_H_
#define SCANCOV_MODELS_SCORES_COVID_GRAM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"

namespace scancov::scores {

struct CovidGramResult {
  double linear_predictor = 0.0;
  double probability = 0.0;
  std::vector<std::string> assumed_absent;  // inputs missing and counted as absent
  bool partial() const { return !assumed_absent.empty(); }
};

// Every input CovidGram reads (PatientInputs names), the derived inputs' sources included.
const std::vector<std::string>& CovidGramInputs();

absl::StatusOr<CovidGramResult> CovidGram(const PatientInputs& inputs, bool strict = false);

enum class CovidGramGroup { kLow, kMedium, kHigh };  // < 0.017, 0.017-0.404, > 0.404
CovidGramGroup CovidGramGroupOf(double probability);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_COVID_GRAM_H_
