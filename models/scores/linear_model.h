// A logistic model given as data: named inputs, a transform per input, coefficients and an
// intercept. The published models (published_models.h), the ScanCov score and the AI-SCoRE-like
// model are all instances, so one function evaluates every one of them:
//
//   linear predictor = intercept + sum_j coefficient_j * T_j(input_j),
//   probability      = 1 / (1 + exp(-linear predictor)).
//
// Inputs are read from PatientInputs in their canonical units (patient_inputs.h) and checked for
// plausibility; a missing input makes the model not computable (FailedPrecondition naming every
// missing input). A model may lack an intercept (the ScanCov paper's Supp Table 6 publishes
// none): its terms can still be summed (TermsSum), but a probability needs an intercept, e.g.
// one calibrated with intercept_calibration.h.
//
// Thread safety: plain values and pure functions.
#ifndef SCANCOV_MODELS_SCORES_LINEAR_MODEL_H_
#define SCANCOV_MODELS_SCORES_LINEAR_MODEL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/scores/patient_inputs.h"

namespace scancov::scores {

enum class InputTransform {
  kIdentity,     // x
  kSpo2Deficit,  // -log(1 + 100 - x), x in %: the ScanCov models' SpO2 transform
  kLogOffset,    // log(0.001 + x): the ScanCov models' transform of platelets, urea, LDH,
                 // neutrophils
  kLogit,        // log(x / (1 - x)), x in (0, 1): the AI-severity probability
  kPresent,      // 1 if x > 0 else 0: a report code 0 absent / 1 non-rounded / 2 rounded
  kLog1p,        // log(1 + x): calcium volume in mm3 (zero for many patients)
};

// The transform applied to a value (no checks; the caller checked the value's range).
double ApplyInputTransform(InputTransform transform, double x);
// "-log(1 + 100 - x)" etc., for documentation and reports.
const char* InputTransformFormula(InputTransform transform);

double Sigmoid(double x);
// log(p / (1 - p)); +-infinity at 1 and 0.
double Logit(double p);

struct LinearTerm {
  std::string input;  // a PatientInputs name (InputSpecs())
  InputTransform transform = InputTransform::kIdentity;
  double coefficient = 0.0;
};

struct LinearModelSpec {
  std::string name;                 // "scancov_released"
  std::string source;               // where the coefficients come from
  std::optional<double> intercept;  // absent: not published
  std::vector<LinearTerm> terms;

  // The input names, in term order.
  std::vector<absl::string_view> InputNames() const;
};

struct LinearScore {
  double linear_predictor = 0.0;  // intercept included
  double probability = 0.0;
};

// sum_j coefficient_j * T_j(x_j), without the intercept. Errors as CollectInputs (InvalidArgument
// for an implausible input, FailedPrecondition naming the missing ones); the message starts
// with the model's name.
absl::StatusOr<double> TermsSum(const LinearModelSpec& model, const PatientInputs& inputs);

// The full score. FailedPrecondition as above, or when the model has no intercept.
absl::StatusOr<LinearScore> EvaluateLinearModel(const LinearModelSpec& model,
                                                const PatientInputs& inputs);

// `model` with its intercept replaced.
LinearModelSpec WithIntercept(LinearModelSpec model, double intercept);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_LINEAR_MODEL_H_
