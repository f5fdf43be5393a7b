#include "models/scores/yan_rule.h"

#include <array>
#include <optional>

#include "core/status_macros.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "yan rule";
constexpr absl::string_view kInputs[] = {"ldh", "crp", "lymphocyte_percent"};

// The tree on the three comparisons (high LDH, low CRP, high lymphocyte %).
YanPrediction Tree(bool ldh_high, bool crp_low, bool lymphocytes_high) {
  if (ldh_high) return YanPrediction::kDeath;
  if (crp_low) return YanPrediction::kSurvival;
  if (lymphocytes_high) return YanPrediction::kSurvival;
  return YanPrediction::kDeath;
}

}  // namespace

const std::vector<std::string>& YanRuleInputs() {
  static const auto* inputs = new std::vector<std::string>(std::begin(kInputs), std::end(kInputs));
  return *inputs;
}

absl::StatusOr<YanResult> YanRule(const PatientInputs& inputs) {
  SCV_ASSIGN_OR_RETURN(const std::vector<std::optional<double>> v,
                       OptionalInputs(inputs, kInputs, kWhere));
  std::array<std::optional<bool>, 3> known;
  if (v[0].has_value()) known[0] = *v[0] >= kYanLdhThreshold;
  if (v[1].has_value()) known[1] = *v[1] < kYanCrpThreshold;
  if (v[2].has_value()) known[2] = *v[2] > kYanLymphocytePercentThreshold;

  // Every completion of the unknown comparisons (at most 8).
  std::optional<YanPrediction> agreed;
  bool ambiguous = false;
  for (int mask = 0; mask < 8 && !ambiguous; ++mask) {
    std::array<bool, 3> c;
    bool consistent = true;
    for (int j = 0; j < 3; ++j) {
      c[j] = (mask >> j) & 1;
      if (known[j].has_value() && *known[j] != c[j]) consistent = false;
    }
    if (!consistent) continue;
    const YanPrediction p = Tree(c[0], c[1], c[2]);
    if (agreed.has_value() && *agreed != p) ambiguous = true;
    agreed = p;
  }
  std::vector<std::string> missing;
  for (int j = 0; j < 3; ++j) {
    if (!known[j].has_value()) missing.push_back(std::string(kInputs[j]));
  }
  if (ambiguous) return MissingInputsError(kWhere, missing);
  YanResult result;
  result.prediction = *agreed;
  result.not_needed_missing = std::move(missing);
  return result;
}

}  // namespace scancov::scores
