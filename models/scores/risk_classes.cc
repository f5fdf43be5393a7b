#include "models/scores/risk_classes.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/scores/linear_model.h"

namespace scancov::scores {
namespace {
constexpr char kWhere[] = "risk terciles";
}  // namespace

const char* RiskClassName(RiskClass risk_class) {
  switch (risk_class) {
    case RiskClass::kLow:
      return "low";
    case RiskClass::kMedium:
      return "medium";
    case RiskClass::kHigh:
      return "high";
  }
  return "?";
}

absl::Status CheckRiskThresholds(const RiskThresholds& t) {
  if (!(t.low_medium > 0.0 && t.low_medium < t.medium_high && t.medium_high < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": thresholds must satisfy 0 < low_medium < medium_high < 1"));
  }
  return absl::OkStatus();
}

RiskClass ClassifyRisk(double probability, const RiskThresholds& t) {
  if (probability >= t.medium_high) return RiskClass::kHigh;
  if (probability >= t.low_medium) return RiskClass::kMedium;
  return RiskClass::kLow;
}

double Quantile(absl::Span<const double> values, double q) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

absl::StatusOr<RiskThresholds> TercileThresholds(absl::Span<const double> probabilities) {
  if (probabilities.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": need at least 3 training scores"));
  }
  for (size_t i = 0; i < probabilities.size(); ++i) {
    if (!(probabilities[i] > 0.0 && probabilities[i] < 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": score ", i, " is not a probability in (0, 1)"));
    }
  }
  RiskThresholds t;
  t.low_medium = Quantile(probabilities, 1.0 / 3.0);
  t.medium_high = Quantile(probabilities, 2.0 / 3.0);
  if (!(t.low_medium < t.medium_high)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": the two terciles coincide (too many tied scores)"));
  }
  return t;
}

FiveLevelScale FiveLevelScaleFromTerciles(const RiskThresholds& t) {
  const double a = Logit(t.low_medium);
  const double b = Logit(t.medium_high);
  const double w = b - a;
  FiveLevelScale scale;
  scale.cuts = {Sigmoid(a - w), t.low_medium, t.medium_high, Sigmoid(b + w)};
  return scale;
}

int FiveLevel(double probability, const FiveLevelScale& scale) {
  int level = 1;
  for (double cut : scale.cuts) {
    if (probability >= cut) ++level;
  }
  return level;
}

const char* FiveLevelName(int level) {
  static const char* const kNames[] = {"very low", "low", "medium", "high", "very high"};
  if (level < 1 || level > 5) return "?";
  return kNames[level - 1];
}

}  // namespace scancov::scores
