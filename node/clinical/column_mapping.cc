#include "node/clinical/column_mapping.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view source, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", why));
}

absl::StatusOr<MappedColumn> ParseColumn(const std::string& header, const json& j,
                                         absl::string_view source) {
  MappedColumn col;
  if (j.is_string()) {
    col.name = j.get<std::string>();
  } else if (j.is_object()) {
    col.name = j.value("name", "");
    col.unit = j.value("unit", "");
    if (j.contains("values")) {
      if (!j["values"].is_object()) return Invalid(source, "'values' of '" + header + "'");
      for (const auto& [code, v] : j["values"].items()) {
        if (!v.is_number()) return Invalid(source, "non-numeric code value in '" + header + "'");
        col.values[code] = v.get<double>();
      }
    }
  } else {
    return Invalid(source, "column '" + header + "' must map to a name or an object");
  }
  const sites::VariableSpec* spec = sites::FindVariable(col.name);
  if (spec == nullptr) {
    return Invalid(source,
                   absl::StrCat("column '", header, "' maps to unknown variable '", col.name, "'"));
  }
  if (!col.unit.empty() && sites::ResolveUnit(*spec, col.unit).spec == nullptr) {
    return Invalid(source,
                   absl::StrCat("column '", header, "': unit '", col.unit, "' is not known for ",
                                col.name, " (canonical: ", spec->unit, ")"));
  }
  return col;
}

absl::StatusOr<RowsPerPatient> ParseRowsPerPatient(const std::string& s, absl::string_view source) {
  if (s == "one") return RowsPerPatient::kOne;
  if (s == "first_row") return RowsPerPatient::kFirstRow;
  if (s == "first_value") return RowsPerPatient::kFirstValue;
  return Invalid(source, "rows_per_patient must be one, first_row or first_value");
}

}  // namespace

absl::StatusOr<ColumnMapping> ParseColumnMapping(absl::string_view text, absl::string_view source) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Invalid(source, absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  if (!j.is_object() || !j.contains("columns") || !j["columns"].is_object()) {
    return Invalid(source, "expected an object with a 'columns' object");
  }
  ColumnMapping m;
  try {
    m.id_column = j.value("id_column", m.id_column);
    m.fill_id_forward = j.value("fill_id_forward", false);
    SCV_ASSIGN_OR_RETURN(m.rows_per_patient,
                         ParseRowsPerPatient(j.value("rows_per_patient", "one"), source));
    m.drop = j.value("drop", std::vector<std::string>{});
    m.drop_unmapped = j.value("drop_unmapped", false);
  } catch (const json::exception& e) {
    return Invalid(source, absl::StrCat("wrong type of a field (", e.what(), ")"));
  }
  for (const auto& [header, target] : j["columns"].items()) {
    SCV_ASSIGN_OR_RETURN(MappedColumn col, ParseColumn(header, target, source));
    m.columns[header] = std::move(col);
  }
  return m;
}

absl::StatusOr<ColumnMapping> LoadColumnMapping(const std::string& path) {
  SCV_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseColumnMapping(text, path);
}

}  // namespace scancov::node
