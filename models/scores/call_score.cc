#include "models/scores/call_score.h"

#include <optional>
#include <vector>

#include "core/status_macros.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "call score";

// The comorbidities the ScanCov seed used to define CALL's "comorbidity".
constexpr absl::string_view kComorbidityFlags[] = {"heart_disease", "asthma", "emphysema",
                                                   "diabetes", "hypertension"};

// 1 / 0 when determined, nullopt when not; fills `missing` with what would determine it.
absl::StatusOr<std::optional<double>> Comorbidity(const PatientInputs& inputs,
                                                  std::vector<std::string>& missing) {
  SCV_ASSIGN_OR_RETURN(const std::optional<double> direct,
                       OptionalInput(inputs, "comorbidity", kWhere));
  if (direct.has_value()) return direct;
  SCV_ASSIGN_OR_RETURN(const std::vector<std::optional<double>> flags,
                       OptionalInputs(inputs, kComorbidityFlags, kWhere));
  bool all_present = true;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i].has_value() && *flags[i] == 1.0) return std::optional<double>(1.0);
    if (!flags[i].has_value()) all_present = false;
  }
  if (all_present) return std::optional<double>(0.0);
  missing.push_back("comorbidity");
  for (size_t i = 0; i < flags.size(); ++i) {
    if (!flags[i].has_value()) missing.push_back(std::string(kComorbidityFlags[i]));
  }
  return std::optional<double>();
}

}  // namespace

const std::vector<std::string>& CallScoreInputs() {
  static const auto* inputs = [] {
    auto* out = new std::vector<std::string>{"comorbidity"};
    for (absl::string_view flag : kComorbidityFlags) out->emplace_back(flag);
    for (const char* name : {"age", "lymphocytes", "ldh"}) out->emplace_back(name);
    return out;
  }();
  return *inputs;
}

absl::StatusOr<PointsScore> CallScore(const PatientInputs& inputs, MissingInputPolicy policy) {
  std::vector<std::string> comorbidity_missing;
  SCV_ASSIGN_OR_RETURN(const std::optional<double> comorbidity,
                       Comorbidity(inputs, comorbidity_missing));
  SCV_ASSIGN_OR_RETURN(const std::vector<std::optional<double>> v,
                       OptionalInputs(inputs, {"age", "lymphocytes", "ldh"}, kWhere));
  const std::optional<double>& age = v[0];
  const std::optional<double>& lymphocytes = v[1];
  const std::optional<double>& ldh = v[2];

  PointsScore score;
  AddCriterion(
      score,
      comorbidity.has_value() ? std::optional<int>(*comorbidity == 1.0 ? 4 : 1) : std::nullopt, 1,
      4, std::move(comorbidity_missing));
  AddCriterion(score, age.has_value() ? std::optional<int>(*age > 60.0 ? 3 : 1) : std::nullopt, 1,
               3, {"age"});
  AddCriterion(
      score,
      lymphocytes.has_value() ? std::optional<int>(*lymphocytes <= 1.0 ? 3 : 1) : std::nullopt, 1,
      3, {"lymphocytes"});
  std::optional<int> ldh_points;
  if (ldh.has_value()) ldh_points = *ldh <= 250.0 ? 1 : (*ldh <= 500.0 ? 2 : 3);
  AddCriterion(score, ldh_points, 1, 3, {"ldh"});

  if (policy == MissingInputPolicy::kRefuse && score.partial()) {
    return MissingInputsError(kWhere, score.missing);
  }
  return score;
}

CallClass CallClassOf(int points) {
  if (points <= 6) return CallClass::kA;
  if (points <= 9) return CallClass::kB;
  return CallClass::kC;
}

}  // namespace scancov::scores
