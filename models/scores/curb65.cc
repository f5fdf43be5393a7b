#include "models/scores/curb65.h"

#include <optional>
#include <vector>

#include "core/status_macros.h"

namespace scancov::scores {
namespace {

constexpr char kWhere[] = "curb65";

// One point if `value` is present and meets `test`; nullopt when missing.
template <typename Test>
std::optional<int> Point(const std::optional<double>& value, Test test) {
  if (!value.has_value()) return std::nullopt;
  return test(*value) ? 1 : 0;
}

}  // namespace

const std::vector<std::string>& Curb65Inputs() {
  static const auto* inputs = new std::vector<std::string>{
      "confusion", "urea", "respiratory_rate", "systolic_bp", "diastolic_bp", "age"};
  return *inputs;
}

absl::StatusOr<PointsScore> Curb65(const PatientInputs& inputs, MissingInputPolicy policy) {
  SCV_ASSIGN_OR_RETURN(
      const std::vector<std::optional<double>> v,
      OptionalInputs(
          inputs, {"confusion", "urea", "respiratory_rate", "systolic_bp", "diastolic_bp", "age"},
          kWhere));
  const std::optional<double>& confusion = v[0];
  const std::optional<double>& urea = v[1];
  const std::optional<double>& respiratory_rate = v[2];
  const std::optional<double>& systolic = v[3];
  const std::optional<double>& diastolic = v[4];
  const std::optional<double>& age = v[5];

  PointsScore score;
  AddCriterion(score, Point(confusion, [](double x) { return x == 1.0; }), 0, 1, {"confusion"});
  AddCriterion(score, Point(urea, [](double x) { return x > 7.0; }), 0, 1, {"urea"});
  AddCriterion(score, Point(respiratory_rate, [](double x) { return x >= 30.0; }), 0, 1,
               {"respiratory_rate"});

  // B: met as soon as either pressure meets it; not met only when both are known and normal.
  const bool low_systolic = systolic.has_value() && *systolic < 90.0;
  const bool low_diastolic = diastolic.has_value() && *diastolic <= 60.0;
  std::optional<int> blood_pressure;
  if (low_systolic || low_diastolic) {
    blood_pressure = 1;
  } else if (systolic.has_value() && diastolic.has_value()) {
    blood_pressure = 0;
  }
  std::vector<std::string> missing_pressures;
  if (!systolic.has_value()) missing_pressures.push_back("systolic_bp");
  if (!diastolic.has_value()) missing_pressures.push_back("diastolic_bp");
  AddCriterion(score, blood_pressure, 0, 1, std::move(missing_pressures));

  AddCriterion(score, Point(age, [](double x) { return x >= 65.0; }), 0, 1, {"age"});

  if (policy == MissingInputPolicy::kRefuse && score.partial()) {
    return MissingInputsError(kWhere, score.missing);
  }
  return score;
}

Curb65Group Curb65GroupOf(int points) {
  if (points <= 1) return Curb65Group::kLow;
  if (points == 2) return Curb65Group::kIntermediate;
  return Curb65Group::kHigh;
}

}  // namespace scancov::scores
