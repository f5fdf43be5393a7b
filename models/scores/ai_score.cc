#include "models/scores/ai_score.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "models/stats/input_checks.h"
#include "models/stats/logistic_regression.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "ai-score";

bool UsesAiScoreInputs(const LinearModelSpec& model) {
  if (model.terms.size() != kAiScoreInputs.size()) return false;
  for (size_t j = 0; j < kAiScoreInputs.size(); ++j) {
    if (model.terms[j].input != kAiScoreInputs[j]) return false;
  }
  return true;
}

std::vector<absl::string_view> InputNames() {
  return std::vector<absl::string_view>(kAiScoreInputs.begin(), kAiScoreInputs.end());
}

}  // namespace

const std::array<InputTransform, 5>& AiScoreTransforms() {
  static const std::array<InputTransform, 5> kTransforms = {
      InputTransform::kIdentity, InputTransform::kIdentity, InputTransform::kSpo2Deficit,
      InputTransform::kIdentity, InputTransform::kLog1p};
  return kTransforms;
}

LinearModelSpec AiScoreModel(double intercept, const std::array<double, 5>& coefficients) {
  LinearModelSpec model;
  model.name = "ai_score";
  model.source = "AI-SCoRE-like 5-variable model of death (fitted; see ai_score.h)";
  model.intercept = intercept;
  for (size_t j = 0; j < kAiScoreInputs.size(); ++j) {
    model.terms.push_back({kAiScoreInputs[j], AiScoreTransforms()[j], coefficients[j]});
  }
  return model;
}

const char* AiScoreClassName(AiScoreClass c) {
  switch (c) {
    case AiScoreClass::kLow:
      return "low";
    case AiScoreClass::kMedium:
      return "medium";
    case AiScoreClass::kHigh:
      return "high";
  }
  return "?";
}

AiScoreClass ClassifyAiScore(double score, const AiScoreCutPoints& cut_points) {
  if (score >= cut_points.medium_high) return AiScoreClass::kHigh;
  if (score >= cut_points.low_medium) return AiScoreClass::kMedium;
  return AiScoreClass::kLow;
}

absl::StatusOr<AiScore> AiScore::Create(LinearModelSpec model, AiScoreCutPoints cut_points) {
  if (!model.intercept.has_value() || !UsesAiScoreInputs(model)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": the model must have an intercept and the five AI-SCoRE inputs in order"));
  }
  if (!(cut_points.low_medium >= 0.0 && cut_points.low_medium < cut_points.medium_high &&
        cut_points.medium_high <= 100.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": cut points must satisfy 0 <= low_medium < medium_high <= 100"));
  }
  return AiScore(std::move(model), cut_points);
}

absl::StatusOr<AiScoreResult> AiScore::Compute(const PatientInputs& inputs) const {
  SCV_ASSIGN_OR_RETURN(const LinearScore linear, EvaluateLinearModel(model_, inputs));
  AiScoreResult result;
  result.probability = linear.probability;
  result.score = 100.0 * linear.probability;
  result.score_class = ClassifyAiScore(result.score, cut_points_);
  return result;
}

absl::StatusOr<AiScoreFit> FitAiScore(absl::Span<const PatientInputs> patients,
                                      absl::Span<const double> death, double l2_penalty) {
  SCV_RETURN_IF_ERROR(
      stats::CheckLength(kWhere, "death", death.size(), "patients", patients.size()));
  SCV_RETURN_IF_ERROR(stats::CheckBinary(kWhere, "death", death));
  const std::vector<absl::string_view> names = InputNames();
  std::vector<std::vector<double>> rows;
  std::vector<double> outcomes;
  AiScoreFit result;
  for (size_t i = 0; i < patients.size(); ++i) {
    absl::StatusOr<std::vector<double>> values =
        CollectInputs(patients[i], names, absl::StrCat(kWhere, ": patient ", i));
    if (absl::IsFailedPrecondition(values.status())) {
      ++result.patients_excluded;
      continue;
    }
    if (!values.ok()) return values.status();
    rows.push_back(*std::move(values));
    outcomes.push_back(death[i]);
  }
  result.patients_used = static_cast<int64_t>(rows.size());
  if (rows.size() < 10) {
    return absl::FailedPreconditionError(
        absl::StrCat(kWhere, ": fewer than 10 patients with all five inputs"));
  }
  Eigen::MatrixXd x(rows.size(), kAiScoreInputs.size());
  Eigen::VectorXd y(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < kAiScoreInputs.size(); ++j) {
      x(i, j) = ApplyInputTransform(AiScoreTransforms()[j], rows[i][j]);
    }
    y[i] = outcomes[i];
  }
  if (y.sum() == 0.0 || y.sum() == static_cast<double>(y.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat(kWhere, ": all complete patients have the same outcome"));
  }
  stats::LogisticOptions options;
  options.l2_penalty = l2_penalty;
  SCV_ASSIGN_OR_RETURN(result.fit, stats::FitLogistic(x, y, options));
  std::array<double, 5> coefficients;
  for (size_t j = 0; j < coefficients.size(); ++j) coefficients[j] = result.fit.coefficients[j + 1];
  result.model = AiScoreModel(result.fit.coefficients[0], coefficients);
  return result;
}

}  // namespace scancov::scores
