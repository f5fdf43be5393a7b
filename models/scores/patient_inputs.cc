#include "models/scores/patient_inputs.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::scores {
namespace {

constexpr char kPerMicrolitre[] =
    "looks like a count per uL (or per mm3); divide by 1000 for G/L = 10^9/L";
constexpr char kFraction[] = "looks like a fraction 0-1; multiply by 100 for %";
constexpr char kPercent[] = "looks like a percentage; divide by 100 for a fraction 0-1";
constexpr char kKpa[] = "looks like kPa; multiply by 7.5 for mmHg";

InputSpec Continuous(const char* name, const char* unit, double min, double max,
                     const char* description, std::vector<UnitHint> hints = {}) {
  InputSpec s;
  s.name = name;
  s.unit = unit;
  s.min = min;
  s.max = max;
  s.hints = std::move(hints);
  s.description = description;
  return s;
}

InputSpec Binary(const char* name, const char* description) {
  InputSpec s;
  s.name = name;
  s.kind = InputKind::kBinary;
  s.min = 0;
  s.max = 1;
  s.description = description;
  return s;
}

InputSpec Integer(const char* name, double min, double max, const char* description) {
  InputSpec s;
  s.name = name;
  s.kind = InputKind::kInteger;
  s.min = min;
  s.max = max;
  s.description = description;
  return s;
}

// Limits follow sites/cohort's dictionary where it has the variable (a test checks the units
// agree), widened where a bedside value may legitimately fall outside a hospital cohort's range
// (age 0..120).
std::vector<InputSpec> BuildSpecs() {
  std::vector<InputSpec> s;
  s.push_back(Continuous("age", "years", 0, 120, "Age at admission"));
  s.push_back(Binary("sex", "Sex: 1 male, 0 female"));
  s.push_back(
      Continuous("spo2", "%", 50, 100, "Oxygen saturation (pulse oximetry)", {{0, 1, kFraction}}));
  s.push_back(Continuous("respiratory_rate", "/min", 5, 70, "Respiratory rate"));
  s.push_back(
      Continuous("systolic_bp", "mmHg", 50, 280, "Systolic blood pressure", {{5, 40, kKpa}}));
  s.push_back(
      Continuous("diastolic_bp", "mmHg", 20, 160, "Diastolic blood pressure", {{2, 19.99, kKpa}}));
  s.push_back(Binary("confusion", "New mental confusion (AMT <= 8 or disorientation)"));
  s.push_back(Binary("unconsciousness", "Unconscious at admission"));
  s.push_back(Binary("hemoptysis", "Hemoptysis"));
  s.push_back(Binary("dyspnea", "Dyspnea"));
  for (const char* flag : {"hypertension", "diabetes", "heart_disease", "asthma", "emphysema",
                           "chronic_kidney_disease", "cancer", "immunodeficiency"}) {
    s.push_back(Binary(flag, "Comorbidity (see sites/cohort/VARIABLES.md)"));
  }
  s.push_back(Binary("comorbidity", "At least one comorbidity (CALL's definition)"));
  s.push_back(Integer("comorbidity_count", 0, 20, "Number of comorbidities (COVID-GRAM)"));
  s.push_back(
      Continuous("platelets", "G/L", 1, 2000, "Platelets", {{2000.01, 2e6, kPerMicrolitre}}));
  s.push_back(Continuous("urea", "mmol/L", 0.5, 100, "Urea",
                         {{100.01, 700, "looks like mg/dL; multiply by 0.1665 for mmol/L"},
                          {0.03, 0.4999, "looks like g/L; multiply by 16.65 for mmol/L"}}));
  s.push_back(Continuous("ldh", "U/L", 50, 10000, "Lactate dehydrogenase",
                         {{0.5, 49.99, "looks like ukat/L; multiply by 60 for U/L"}}));
  s.push_back(Continuous("crp", "mg/L", 0, 800, "C-reactive protein (also hs-CRP)",
                         {{800.01, 80000, "looks like ug/L or nmol/L; expected mg/L"}}));
  s.push_back(
      Continuous("lymphocytes", "G/L", 0, 300, "Lymphocytes", {{300.01, 3e5, kPerMicrolitre}}));
  s.push_back(
      Continuous("neutrophils", "G/L", 0, 150, "Neutrophils", {{150.01, 1.5e5, kPerMicrolitre}}));
  s.push_back(Continuous("lymphocyte_percent", "%", 0, 100, "Lymphocytes as % of leukocytes"));
  s.push_back(Continuous("conjugated_bilirubin", "umol/L", 0, 800, "Conjugated bilirubin"));
  s.push_back(Integer("disease_extent", 0, 5, "Report: extent 0 none .. 5 >75% (SFR scale)"));
  s.push_back(Integer("ggo", 0, 2, "Report: GGO 0 absent, 1 non-rounded, 2 rounded"));
  s.push_back(Integer("consolidation", 0, 2, "Report: consolidation 0 absent, 1, 2 rounded"));
  s.push_back(Binary("crazy_paving", "Report: crazy paving"));
  s.push_back(Binary("peripheral_topography", "Report: lesions in the outer third"));
  s.push_back(Binary("inferior_predominance", "Report: lower-segment predominance"));
  s.push_back(Binary("imaging_abnormality", "Chest X-ray/CT abnormality (COVID-GRAM)"));
  for (const char* marker : {"ai_ggo_fraction", "ai_consolidation_fraction",
                             "ai_crazy_paving_fraction", "ai_extent_fraction"}) {
    s.push_back(Continuous(marker, "fraction of lung volume", 0, 1,
                           "AI-segment marker: lesion voxels / lung voxels",
                           {{1.0001, 100, kPercent}}));
  }
  InputSpec severity =
      Continuous("ai_severity_probability", "probability", 0, 1,
                 "AI-severity CT-only probability of severe outcome", {{1.0001, 100, kPercent}});
  severity.exclusive_bounds = true;
  s.push_back(severity);
  s.push_back(Continuous("well_aerated_lung_percent", "%", 0, 100,
                         "Well-aerated lung volume, % of the lung volume"));
  s.push_back(Continuous("calcium_volume_mm3", "mm3", 0, 1e5,
                         "Cardiovascular thoracic calcium volume (coronary, valve, aorta)",
                         {{1e5 + 1, 1e8, "looks like uL or a calcium score; expected mm3"}}));
  return s;
}

std::string FormatNumber(double v) { return absl::StrCat(v); }

// A status made with an empty `where` reads ": name: why"; this is the "name: why" part, for
// messages that list several inputs after one "where: ".
std::string Problem(const absl::Status& status) { return std::string(status.message().substr(2)); }

}  // namespace

std::string InputSpec::ExpectedText() const {
  switch (kind) {
    case InputKind::kBinary:
      return "0 or 1";
    case InputKind::kInteger:
      return absl::StrCat("an integer ", FormatNumber(min), "..", FormatNumber(max));
    case InputKind::kContinuous:
      break;
  }
  const std::string range = exclusive_bounds
                                ? absl::StrCat("(", FormatNumber(min), ", ", FormatNumber(max), ")")
                                : absl::StrCat(FormatNumber(min), "..", FormatNumber(max));
  return unit.empty() ? range : absl::StrCat(range, " ", unit);
}

const std::vector<InputSpec>& InputSpecs() {
  static const std::vector<InputSpec>* const specs = new std::vector<InputSpec>(BuildSpecs());
  return *specs;
}

const InputSpec* FindInputSpec(absl::string_view name) {
  for (const InputSpec& spec : InputSpecs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

absl::Status CheckInputValue(const InputSpec& spec, double value, absl::string_view where) {
  const std::string prefix = absl::StrCat(where, ": ", spec.name, ": ");
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "not a finite number, expected ", spec.ExpectedText()));
  }
  const bool inside = spec.exclusive_bounds ? (value > spec.min && value < spec.max)
                                            : (value >= spec.min && value <= spec.max);
  const bool integral = spec.kind == InputKind::kContinuous || value == std::floor(value);
  if (inside && integral) return absl::OkStatus();
  std::string message = absl::StrCat(prefix, inside ? "not an integer" : "implausible value",
                                     ", expected ", spec.ExpectedText());
  for (const UnitHint& hint : spec.hints) {
    if (value >= hint.lo && value <= hint.hi) {
      absl::StrAppend(&message, " (", hint.advice, ")");
      break;
    }
  }
  return absl::InvalidArgumentError(message);
}

PatientInputs::PatientInputs(std::initializer_list<std::pair<absl::string_view, double>> values) {
  for (const auto& [name, value] : values) Set(name, value);
}

PatientInputs& PatientInputs::Set(absl::string_view name, double value) {
  if (std::isnan(value)) return Erase(name);
  values_[std::string(name)] = value;
  return *this;
}

PatientInputs& PatientInputs::Erase(absl::string_view name) {
  values_.erase(std::string(name));
  return *this;
}

bool PatientInputs::Has(absl::string_view name) const {
  return values_.count(std::string(name)) > 0;
}

std::optional<double> PatientInputs::Get(absl::string_view name) const {
  const auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

absl::Status PatientInputs::Validate() const {
  std::vector<std::string> problems;
  for (const auto& [name, value] : values_) {
    const InputSpec* spec = FindInputSpec(name);
    if (spec == nullptr) {
      problems.push_back(absl::StrCat(name, ": unknown input"));
      continue;
    }
    const absl::Status status = CheckInputValue(*spec, value, "");
    if (!status.ok()) problems.push_back(Problem(status));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("patient inputs: ", absl::StrJoin(problems, "; ")));
}

std::string DescribeInput(absl::string_view name) {
  const InputSpec* spec = FindInputSpec(name);
  if (spec == nullptr || spec->unit.empty()) return std::string(name);
  return absl::StrCat(name, " (", spec->unit, ")");
}

absl::Status MissingInputsError(absl::string_view where, absl::Span<const std::string> missing) {
  std::vector<std::string> described;
  for (const std::string& name : missing) described.push_back(DescribeInput(name));
  return absl::FailedPreconditionError(
      absl::StrCat(where, ": not computable, missing: ", absl::StrJoin(described, ", ")));
}

absl::StatusOr<std::optional<double>> OptionalInput(const PatientInputs& inputs,
                                                    absl::string_view name,
                                                    absl::string_view where) {
  const InputSpec* spec = FindInputSpec(name);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", name, ": unknown input"));
  }
  const std::optional<double> value = inputs.Get(name);
  if (!value.has_value()) return std::optional<double>();
  const absl::Status status = CheckInputValue(*spec, *value, where);
  if (!status.ok()) return status;
  return value;
}

absl::StatusOr<std::vector<std::optional<double>>> OptionalInputs(
    const PatientInputs& inputs, absl::Span<const absl::string_view> names,
    absl::string_view where) {
  std::vector<std::optional<double>> values;
  std::vector<std::string> implausible;
  for (absl::string_view name : names) {
    absl::StatusOr<std::optional<double>> value = OptionalInput(inputs, name, "");
    if (value.ok()) {
      values.push_back(*value);
    } else {
      implausible.push_back(Problem(value.status()));
    }
  }
  if (!implausible.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", absl::StrJoin(implausible, "; ")));
  }
  return values;
}

absl::StatusOr<std::vector<double>> CollectInputs(const PatientInputs& inputs,
                                                  absl::Span<const absl::string_view> names,
                                                  absl::string_view where) {
  absl::StatusOr<std::vector<std::optional<double>>> optional =
      OptionalInputs(inputs, names, where);
  if (!optional.ok()) return optional.status();
  std::vector<double> values;
  std::vector<std::string> missing;
  for (size_t i = 0; i < names.size(); ++i) {
    if ((*optional)[i].has_value()) {
      values.push_back(*(*optional)[i]);
    } else {
      missing.push_back(std::string(names[i]));
    }
  }
  if (!missing.empty()) return MissingInputsError(where, missing);
  return values;
}

}  // namespace scancov::scores
