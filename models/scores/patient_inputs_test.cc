#include "models/scores/patient_inputs.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "sites/cohort/variables.h"

namespace scancov::scores {
namespace {

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(PatientInputsTest, SetGetAndNanMeansMissing) {
  PatientInputs inputs{{"age", 70}, {"spo2", std::nan("")}};
  EXPECT_TRUE(inputs.Has("age"));
  EXPECT_FALSE(inputs.Has("spo2"));
  EXPECT_EQ(inputs.Get("age"), 70.0);
  inputs.Set("age", std::nan(""));
  EXPECT_FALSE(inputs.Has("age"));
  EXPECT_TRUE(inputs.Validate().ok());
}

TEST(PatientInputsTest, SpO2Of150IsImplausibleAndTheValueIsNotQuoted) {
  const PatientInputs inputs{{"spo2", 150}};
  const absl::Status status = inputs.Validate();
  ASSERT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_TRUE(absl::StrContains(Message(status), "spo2: implausible value, expected 50..100 %"))
      << status;
  EXPECT_FALSE(absl::StrContains(Message(status), "150")) << status;
}

TEST(PatientInputsTest, PlateletsPerMicrolitreGetAUnitHint) {
  const PatientInputs inputs{{"platelets", 250000}};
  const absl::Status status = inputs.Validate();
  ASSERT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_TRUE(absl::StrContains(Message(status), "platelets: implausible value"));
  EXPECT_TRUE(absl::StrContains(Message(status), "expected 1..2000 G/L"));
  EXPECT_TRUE(absl::StrContains(Message(status), "per uL")) << status;
  EXPECT_FALSE(absl::StrContains(Message(status), "250000"));
}

TEST(PatientInputsTest, OtherUnitMistakesAreExplained) {
  struct Case {
    const char* name;
    double value;
    const char* hint;
  };
  for (const Case& c :
       {Case{"spo2", 0.94, "fraction"}, Case{"urea", 250, "mg/dL"}, Case{"urea", 0.3, "g/L"},
        Case{"ldh", 5, "ukat/L"}, Case{"lymphocytes", 1200, "per uL"},
        Case{"ai_extent_fraction", 35, "percentage"}, Case{"diastolic_bp", 9, "kPa"}}) {
    const InputSpec* spec = FindInputSpec(c.name);
    ASSERT_NE(spec, nullptr) << c.name;
    const absl::Status status = CheckInputValue(*spec, c.value, "test");
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.name;
    EXPECT_TRUE(absl::StrContains(Message(status), c.hint)) << status;
  }
}

TEST(PatientInputsTest, KindsAndBoundsAreEnforced) {
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("sex"), 2, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("disease_extent"), 2.5, "t").ok());
  EXPECT_TRUE(CheckInputValue(*FindInputSpec("disease_extent"), 5, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("disease_extent"), 6, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("ai_severity_probability"), 1.0, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("ai_severity_probability"), 0.0, "t").ok());
  EXPECT_TRUE(CheckInputValue(*FindInputSpec("ai_severity_probability"), 0.5, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("age"), INFINITY, "t").ok());
  EXPECT_TRUE(CheckInputValue(*FindInputSpec("age"), 0, "t").ok());
  EXPECT_TRUE(CheckInputValue(*FindInputSpec("age"), 120, "t").ok());
  EXPECT_FALSE(CheckInputValue(*FindInputSpec("age"), 121, "t").ok());
}

TEST(PatientInputsTest, UnknownNamesAreReported) {
  const PatientInputs inputs{{"SpO2", 95}, {"age", 50}};
  const absl::Status status = inputs.Validate();
  ASSERT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_TRUE(absl::StrContains(Message(status), "SpO2: unknown input")) << status;
}

TEST(PatientInputsTest, CollectInputsNamesEveryMissingInputWithItsUnit) {
  const PatientInputs inputs{{"age", 50}};
  const absl::StatusOr<std::vector<double>> values =
      CollectInputs(inputs, {"age", "spo2", "urea", "sex"}, "model");
  ASSERT_TRUE(absl::IsFailedPrecondition(values.status()));
  EXPECT_EQ(Message(values.status()),
            "model: not computable, missing: spo2 (%), urea (mmol/L), sex");
}

TEST(PatientInputsTest, CollectInputsReportsImplausibleBeforeMissing) {
  const PatientInputs inputs{{"spo2", 150}, {"platelets", 300000}};
  const absl::StatusOr<std::vector<double>> values =
      CollectInputs(inputs, {"spo2", "platelets", "urea"}, "model");
  ASSERT_TRUE(absl::IsInvalidArgument(values.status()));
  EXPECT_TRUE(absl::StrContains(Message(values.status()), "spo2"));
  EXPECT_TRUE(absl::StrContains(Message(values.status()), "platelets"));
}

// Inputs shared with the admission dictionary must use its canonical unit, so an imported row
// can be scored without conversion.
TEST(PatientInputsTest, UnitsAgreeWithTheAdmissionDictionary) {
  int shared = 0;
  for (const InputSpec& spec : InputSpecs()) {
    const sites::VariableSpec* variable = sites::FindVariable(spec.name);
    if (variable == nullptr) continue;
    ++shared;
    if (spec.kind == InputKind::kBinary) {
      EXPECT_EQ(variable->type, sites::VariableType::kBinary) << spec.name;
      continue;
    }
    EXPECT_EQ(spec.unit, variable->unit) << spec.name;
    // The dictionary's hard limits must be plausible here too.
    EXPECT_TRUE(CheckInputValue(spec, variable->min, "t").ok() || spec.exclusive_bounds)
        << spec.name;
    EXPECT_TRUE(CheckInputValue(spec, variable->max, "t").ok()) << spec.name;
  }
  EXPECT_GE(shared, 25);
}

}  // namespace
}  // namespace scancov::scores
