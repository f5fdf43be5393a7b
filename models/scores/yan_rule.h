// The Yan et al. decision rule for in-hospital death of COVID-19 patients (Yan et al., "An
// interpretable mortality prediction model for COVID-19 patients", Nature Machine Intelligence
// 2020;2:283-288, Figure 2: a single tree learned by XGBoost on 375 Tongji Hospital patients),
// one of the ScanCov seed's comparison scores:
//
//   LDH >= 365 U/L                        -> death (high risk)
//   else hs-CRP < 41.2 mg/L               -> survival (low risk)
//   else lymphocytes > 14.7 % (of WBC)    -> survival
//   else                                  -> death
//
// Inputs: ldh U/L, crp mg/L (hs-CRP and CRP measure the same analyte in the same unit),
// lymphocyte_percent % of leukocytes.
//
// Missing inputs: the rule is evaluated with every missing comparison left open; if every way
// of filling them gives the same prediction, that prediction is returned with the missing inputs
// listed in `not_needed_missing` (e.g. LDH >= 365 decides "death" whatever the CRP; LDH missing
// with CRP >= 41.2 and lymphocytes <= 14.7 % gives "death" on both branches). Otherwise the rule
// is not computable: FailedPrecondition naming the missing inputs. The paper did not say how it
// treated missing values.
#ifndef SCANCOV_MODELS_SCORES_YAN_RULE_H_
#define SCANCOV_MODELS_SCORES_YAN_RULE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"

namespace scancov::scores {

inline constexpr double kYanLdhThreshold = 365.0;               // U/L
inline constexpr double kYanCrpThreshold = 41.2;                // mg/L
inline constexpr double kYanLymphocytePercentThreshold = 14.7;  // %

enum class YanPrediction { kSurvival, kDeath };

struct YanResult {
  YanPrediction prediction = YanPrediction::kSurvival;
  std::vector<std::string> not_needed_missing;  // missing, but the prediction does not depend on it
  // 1 for death, 0 for survival: the rule as a (binary) score for AUCs.
  double AsScore() const { return prediction == YanPrediction::kDeath ? 1.0 : 0.0; }
};

// Every input YanRule reads (PatientInputs names).
const std::vector<std::string>& YanRuleInputs();

absl::StatusOr<YanResult> YanRule(const PatientInputs& inputs);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_YAN_RULE_H_
