#include "models/scores/linear_model.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace scancov::scores {

double ApplyInputTransform(InputTransform transform, double x) {
  switch (transform) {
    case InputTransform::kIdentity:
      return x;
    case InputTransform::kSpo2Deficit:
      return -std::log(1.0 + 100.0 - x);
    case InputTransform::kLogOffset:
      return std::log(0.001 + x);
    case InputTransform::kLogit:
      return Logit(x);
    case InputTransform::kPresent:
      return x > 0.0 ? 1.0 : 0.0;
    case InputTransform::kLog1p:
      return std::log1p(x);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

const char* InputTransformFormula(InputTransform transform) {
  switch (transform) {
    case InputTransform::kIdentity:
      return "x";
    case InputTransform::kSpo2Deficit:
      return "-log(1 + 100 - x)";
    case InputTransform::kLogOffset:
      return "log(0.001 + x)";
    case InputTransform::kLogit:
      return "log(x / (1 - x))";
    case InputTransform::kPresent:
      return "1 if x > 0 else 0";
    case InputTransform::kLog1p:
      return "log(1 + x)";
  }
  return "?";
}

double Sigmoid(double x) {
  // Written so that neither branch overflows.
  if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

double Logit(double p) { return std::log(p) - std::log1p(-p); }

std::vector<absl::string_view> LinearModelSpec::InputNames() const {
  std::vector<absl::string_view> names;
  names.reserve(terms.size());
  for (const LinearTerm& term : terms) names.push_back(term.input);
  return names;
}

absl::StatusOr<double> TermsSum(const LinearModelSpec& model, const PatientInputs& inputs) {
  absl::StatusOr<std::vector<double>> values =
      CollectInputs(inputs, model.InputNames(), model.name);
  if (!values.ok()) return values.status();
  double sum = 0.0;
  for (size_t j = 0; j < model.terms.size(); ++j) {
    sum += model.terms[j].coefficient * ApplyInputTransform(model.terms[j].transform, (*values)[j]);
  }
  return sum;
}

absl::StatusOr<LinearScore> EvaluateLinearModel(const LinearModelSpec& model,
                                                const PatientInputs& inputs) {
  absl::StatusOr<double> sum = TermsSum(model, inputs);
  if (!sum.ok()) return sum.status();
  if (!model.intercept.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        model.name, ": no intercept (not published); calibrate one (intercept_calibration.h)"));
  }
  LinearScore score;
  score.linear_predictor = *model.intercept + *sum;
  score.probability = Sigmoid(score.linear_predictor);
  return score;
}

LinearModelSpec WithIntercept(LinearModelSpec model, double intercept) {
  model.intercept = intercept;
  return model;
}

}  // namespace scancov::scores
