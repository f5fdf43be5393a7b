// The admission variable dictionary: one table, in code, of every column a site's admission
// table may carry (the seed's 58 admission variables, a few extra laboratory columns used by
// external cohorts, and the outcome columns), with canonical name, type, SI unit, hard
// plausible limits and the alternative units a hospital export may use by mistake.
//
// The generator writes this dictionary; the node's clinical importer validates against it.
// sites/cohort/VARIABLES.md is the human-readable copy of the same table.
//
// Conventions:
//   - Values are stored in the canonical unit; binary variables are 0/1 (sex: 1 male,
//     0 female); categorical report variables are integer codes (see `levels`).
//   - A CSV header is either the bare canonical name ("urea") or the name followed by '_' and a
//     unit suffix ("urea_mmol_L"). A suffix of an alternative unit ("urea_mg_dL") tells the
//     importer the column is in the wrong unit.
//   - `min`/`max` are hard limits: a value outside them is wrong (typo, wrong unit), not rare.
//   - `median_lo`/`median_hi` bound the median of a whole column in the canonical unit for a
//     hospitalised COVID-19 cohort; a column median outside them that an alternative unit
//     would bring inside is reported as "wrong units" (e.g. urea in mg/dL: every value is
//     plausible in mmol/L, only the median gives it away).
//
// Thread safety: the tables are immutable after first use and safe to read from any thread.
#ifndef SCANCOV_SITES_COHORT_VARIABLES_H_
#define SCANCOV_SITES_COHORT_VARIABLES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace scancov::sites {

enum class VariableType { kContinuous, kBinary, kCategorical, kOrdinal };
enum class VariableGroup {
  kDemographics,
  kVitalSigns,
  kSymptoms,
  kComorbidities,
  kBiology,
  kRadiologyReport,
  kOutcome,
};

// A unit a column may be exported in instead of the canonical one:
// canonical = value * factor + offset. factor 1 and offset 0 is a synonym (e.g. "10^9/L" for
// "G/L") and is accepted as is.
struct AlternativeUnit {
  std::string unit;           // "mg/dL"
  std::string header_suffix;  // "mg_dL", as in a header "urea_mg_dL"
  double factor = 1.0;
  double offset = 0.0;
  std::string note;  // "urea in mg/dL (x 0.1665)"

  bool IsSynonym() const { return factor == 1.0 && offset == 0.0; }
  double ToCanonical(double v) const { return v * factor + offset; }
};

struct VariableSpec {
  std::string name;  // canonical column name, snake_case
  VariableType type = VariableType::kContinuous;
  VariableGroup group = VariableGroup::kBiology;
  std::string unit;           // canonical (SI, as in the seed); "" for binary/categorical
  std::string header_suffix;  // suffix of the canonical unit in a header; "" if none
  double min = 0.0;           // hard plausible limits, canonical unit
  double max = 1.0;
  double median_lo = 0.0;  // typical column median range (continuous only; lo > hi = unused)
  double median_hi = -1.0;
  std::vector<AlternativeUnit> alternatives;
  std::string levels;  // categorical/ordinal codes, e.g. "0 absent, 1 non-rounded, 2 rounded"
  std::string description;
  bool seed_variable = true;  // one of the seed's 58 admission variables

  bool HasMedianCheck() const { return median_lo <= median_hi; }
  // True when `v` is an allowed value: within [min, max], and integral for non-continuous.
  bool Accepts(double v) const;
};

// The 58 admission variables of the seed plus extra laboratory columns (seed_variable=false),
// in a stable order (the generator's column order).
const std::vector<VariableSpec>& AdmissionVariables();
// severe, death, icu, time_to_event_days, event.
const std::vector<VariableSpec>& OutcomeVariables();
// Admission variables then outcomes: every column the importer accepts besides identifiers.
const std::vector<VariableSpec>& AllVariables();

// Lookup by canonical name in AllVariables(); nullptr if unknown.
const VariableSpec* FindVariable(absl::string_view name);
// Index of `name` in AdmissionVariables(), or -1.
int AdmissionIndex(absl::string_view name);

// The column carrying the patient identifier (replaced by a pseudonym at import).
inline constexpr char kPatientIdColumn[] = "patient_id";
// Columns that hold direct identifiers (name, birth date, free text, ...): the importer drops
// them and never stores, logs or quotes their content. Case-insensitive.
bool IsDirectIdentifierColumn(absl::string_view header);
const std::vector<std::string>& DirectIdentifierColumns();

// How a CSV header resolves against the dictionary.
struct ResolvedHeader {
  const VariableSpec* spec = nullptr;            // nullptr: unknown column
  const AlternativeUnit* alternative = nullptr;  // non-null: header names a non-canonical unit
};
// "urea" and "urea_mmol_L" resolve to urea (canonical); "urea_mg_dL" to urea with the mg/dL
// alternative; anything else to {nullptr, nullptr}.
ResolvedHeader ResolveHeader(absl::string_view header);
// Finds a unit by its written form ("mg/dL") or suffix ("mg_dL") for `spec`: returns
// {spec, nullptr} for the canonical unit, {spec, alt} for an alternative, {nullptr, nullptr}
// when the unit is unknown for this variable.
ResolvedHeader ResolveUnit(const VariableSpec& spec, absl::string_view unit);

// The dictionary as a Markdown table (the generated part of sites/cohort/VARIABLES.md;
// `scancov-synth-cohort --dictionary` prints it).
std::string DictionaryMarkdown();

const char* TypeName(VariableType type);
const char* GroupName(VariableGroup group);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_COHORT_VARIABLES_H_
