// The values a score is computed from, for one patient, and their plausibility checks.
//
// PatientInputs is a map from an input name to a value in the input's canonical unit; a
// missing value is simply absent (setting NaN removes it). Names and units follow the admission
// variable dictionary (sites/cohort/variables.h) where it has the variable, so a node can copy
// an imported row straight in:
//
//   age years, sex 1 male / 0 female, spo2 %, platelets G/L (= 10^9/L), urea mmol/L, ldh U/L,
//   crp mg/L, lymphocytes G/L, neutrophils G/L, lymphocyte_percent %, respiratory_rate /min,
//   systolic_bp and diastolic_bp mmHg, disease_extent 0-5, binary flags 0/1.
//
// Inputs that are not admission columns (CT markers, bedside observations) are listed in
// InputSpecs() with their units: ai_*_fraction are fractions (0-1) of the lung volume,
// ai_severity_probability is a probability in (0, 1), well_aerated_lung_percent is % of the
// lung volume, calcium_volume_mm3 is mm3.
//
// Plausibility: every input has hard limits (a value outside them is a typo or a wrong unit,
// not a rare patient) and, where a usual unit mistake lands outside them, a hint (platelets
// 250000 -> "looks like a count per uL; divide by 1000 for G/L"). Error messages name the input,
// the expected range and unit, and the hint; they never contain the value itself, so a message
// can be logged without carrying patient data.
//
// Every score calls CollectInputs / OptionalInput, so no score is ever computed from an
// implausible value, and a missing input is named in the error (FailedPrecondition) or in the
// score's documented partial result.
//
// Thread safety: PatientInputs is a value type (no internal synchronisation); the spec table is
// immutable and safe to read from any thread.
#ifndef SCANCOV_MODELS_SCORES_PATIENT_INPUTS_H_
#define SCANCOV_MODELS_SCORES_PATIENT_INPUTS_H_

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace scancov::scores {

enum class InputKind {
  kContinuous,  // any real value within [min, max]
  kInteger,     // an integer within [min, max] (disease_extent, comorbidity_count, ggo codes)
  kBinary,      // exactly 0 or 1
};

// A value range in which a typical unit mistake lands, with the advice to give.
struct UnitHint {
  double lo = 0.0;     // inclusive
  double hi = 0.0;     // inclusive
  std::string advice;  // "looks like a count per uL; divide by 1000 for G/L"
};

struct InputSpec {
  std::string name;  // canonical name, snake_case
  std::string unit;  // canonical unit; "" for binary and codes
  InputKind kind = InputKind::kContinuous;
  double min = 0.0;  // hard plausible limits, inclusive unless exclusive_bounds
  double max = 1.0;
  bool exclusive_bounds = false;  // (min, max): ai_severity_probability
  std::vector<UnitHint> hints;
  std::string description;

  // "50..100 %", "0 or 1", "an integer 0..5", "(0, 1)".
  std::string ExpectedText() const;
};

// Every input a score in this library reads, in a stable order.
const std::vector<InputSpec>& InputSpecs();
// nullptr for an unknown name.
const InputSpec* FindInputSpec(absl::string_view name);

// OK when `value` is plausible for `spec`; InvalidArgument otherwise, with
// "<where>: <name>: <why>, expected <range and unit>[ (<hint>)]". Never quotes the value.
absl::Status CheckInputValue(const InputSpec& spec, double value, absl::string_view where);

class PatientInputs {
 public:
  PatientInputs() = default;
  // {{"age", 70}, {"sex", 1}}; NaN values are treated as missing.
  PatientInputs(std::initializer_list<std::pair<absl::string_view, double>> values);

  // Sets `name` to `value`; a NaN value removes it (missing). Names are not checked here (see
  // Validate), so a caller can gather every problem of a record at once.
  PatientInputs& Set(absl::string_view name, double value);
  PatientInputs& Erase(absl::string_view name);

  bool Has(absl::string_view name) const;
  std::optional<double> Get(absl::string_view name) const;
  const std::map<std::string, double>& values() const { return values_; }

  // OK when every name is known (FindInputSpec) and every value plausible; otherwise
  // InvalidArgument listing every unknown name and every implausible input.
  absl::Status Validate() const;

 private:
  std::map<std::string, double> values_;
};

// The values of `names` in order. Errors (every problem listed, the first code wins):
//   InvalidArgument     an input present but implausible (or not finite), an unknown name
//   FailedPrecondition  "<where>: not computable, missing: spo2 (%), urea (mmol/L)"
absl::StatusOr<std::vector<double>> CollectInputs(const PatientInputs& inputs,
                                                  absl::Span<const absl::string_view> names,
                                                  absl::string_view where);

// The value of `name` when present (checked as above), nullopt when missing.
absl::StatusOr<std::optional<double>> OptionalInput(const PatientInputs& inputs,
                                                    absl::string_view name,
                                                    absl::string_view where);

// The values of `names` in order, nullopt for the missing ones. InvalidArgument listing every
// implausible input or unknown name.
absl::StatusOr<std::vector<std::optional<double>>> OptionalInputs(
    const PatientInputs& inputs, absl::Span<const absl::string_view> names,
    absl::string_view where);

// "spo2 (%)", or "confusion" for unitless inputs: how errors name a missing input.
std::string DescribeInput(absl::string_view name);

// FailedPrecondition "<where>: not computable, missing: a (unit), b (unit)".
absl::Status MissingInputsError(absl::string_view where, absl::Span<const std::string> missing);

}  // namespace scancov::scores

#endif  // SCANCOV_MODELS_SCORES_PATIENT_INPUTS_H_
