#include "sites/cohort/variables.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "sites/cohort/variables_internal.h"

namespace scancov::sites {

bool VariableSpec::Accepts(double v) const {
  if (!std::isfinite(v) || v < min || v > max) return false;
  if (type != VariableType::kContinuous && v != std::floor(v)) return false;
  return true;
}

const std::vector<VariableSpec>& AdmissionVariables() {
  static const auto* table = new std::vector<VariableSpec>(internal::BuildAdmissionTable());
  return *table;
}

const std::vector<VariableSpec>& OutcomeVariables() {
  static const auto* table = new std::vector<VariableSpec>(internal::BuildOutcomeTable());
  return *table;
}

const std::vector<VariableSpec>& AllVariables() {
  static const auto* table = [] {
    auto* all = new std::vector<VariableSpec>(AdmissionVariables());
    for (const auto& s : OutcomeVariables()) all->push_back(s);
    return all;
  }();
  return *table;
}

const VariableSpec* FindVariable(absl::string_view name) {
  for (const auto& spec : AllVariables()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

int AdmissionIndex(absl::string_view name) {
  const auto& vars = AdmissionVariables();
  for (size_t i = 0; i < vars.size(); ++i) {
    if (vars[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const std::vector<std::string>& DirectIdentifierColumns() {
  static const auto* cols = new std::vector<std::string>{
      "name", "first_name", "last_name", "surname", "given_name", "patient_name", "birth_date",
      "date_of_birth", "dob", "address", "phone", "email", "mrn", "ssn", "nir", "comment",
      "comments", "notes", "free_text", "admission_date", "discharge_date",
      // What European hospital systems export (UTF-8, after the importer's conversion):
      // French, German, Spanish, Italian.
      "nom", "prénom", "prenom", "nom_de_naissance", "nom_de_jeune_fille", "date_de_naissance",
      "date_naissance", "adresse", "téléphone", "telephone", "courriel", "commentaire",
      "commentaires", "nachname", "vorname", "geburtsname", "geburtsdatum", "anschrift", "telefon",
      "bemerkung", "bemerkungen", "nombre", "apellido", "apellidos", "fecha_de_nacimiento",
      "dirección", "direccion", "teléfono", "cognome", "nome", "data_di_nascita", "indirizzo",
      "telefono"};
  return *cols;
}

bool IsDirectIdentifierColumn(absl::string_view header) {
  // Case, surrounding spaces, and spaces or hyphens between words do not matter
  // ("Date de naissance", "Geburts-Datum" is not listed, "date-de-naissance" is).
  std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header));
  for (char& c : key) {
    if (c == ' ' || c == '-') c = '_';
  }
  // Accented capitals are not ASCII: "PRÉNOM" -> "prÉnom"; the UTF-8 of É (C3 89) becomes é
  // (C3 A9) here for the Latin-1 letters the list uses.
  for (size_t i = 0; i + 1 < key.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(key[i]), b1 = static_cast<unsigned char>(key[i + 1]);
    if (b0 == 0xC3 && b1 >= 0x80 && b1 <= 0x9E && b1 != 0x97)
      key[i + 1] = static_cast<char>(b1 + 0x20);
  }
  for (const auto& c : DirectIdentifierColumns()) {
    if (key == c) return true;
  }
  return false;
}

ResolvedHeader ResolveUnit(const VariableSpec& spec, absl::string_view unit) {
  const absl::string_view u = absl::StripAsciiWhitespace(unit);
  if (u == spec.unit || (!spec.header_suffix.empty() && u == spec.header_suffix) ||
      (spec.unit.empty() && u.empty())) {
    return {&spec, nullptr};
  }
  for (const auto& alt : spec.alternatives) {
    if (u == alt.unit || u == alt.header_suffix) return {&spec, &alt};
  }
  return {};
}

ResolvedHeader ResolveHeader(absl::string_view header) {
  const absl::string_view h = absl::StripAsciiWhitespace(header);
  if (const VariableSpec* spec = FindVariable(h)) return {spec, nullptr};
  // Longest canonical name that prefixes the header followed by '_' wins, so a suffix is only
  // read after the full variable name.
  ResolvedHeader best;
  size_t best_len = 0;
  for (const auto& spec : AllVariables()) {
    const std::string prefix = spec.name + "_";
    if (!absl::StartsWith(h, prefix) || prefix.size() <= best_len) continue;
    const absl::string_view suffix = h.substr(prefix.size());
    ResolvedHeader r;
    if (!spec.header_suffix.empty() && suffix == spec.header_suffix) {
      r = {&spec, nullptr};
    } else {
      for (const auto& alt : spec.alternatives) {
        if (suffix == alt.header_suffix) r = {&spec, &alt};
      }
    }
    if (r.spec != nullptr) {
      best = r;
      best_len = prefix.size();
    }
  }
  return best;
}

const char* TypeName(VariableType type) {
  switch (type) {
    case VariableType::kContinuous:
      return "continuous";
    case VariableType::kBinary:
      return "binary";
    case VariableType::kCategorical:
      return "categorical";
    case VariableType::kOrdinal:
      return "ordinal";
  }
  return "?";
}

const char* GroupName(VariableGroup group) {
  switch (group) {
    case VariableGroup::kDemographics:
      return "demographics";
    case VariableGroup::kVitalSigns:
      return "vital signs";
    case VariableGroup::kSymptoms:
      return "symptoms";
    case VariableGroup::kComorbidities:
      return "comorbidities";
    case VariableGroup::kBiology:
      return "biology";
    case VariableGroup::kRadiologyReport:
      return "radiology report";
    case VariableGroup::kOutcome:
      return "outcome";
  }
  return "?";
}

}  // namespace scancov::sites
