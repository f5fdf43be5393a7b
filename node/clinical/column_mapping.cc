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

// A one-character dialect key: 0 when absent or "auto", else one of `allowed`.
absl::StatusOr<char> ParseDialectChar(const json& j, const std::string& key,
                                      absl::string_view allowed, absl::string_view source) {
  if (!j.contains(key)) return 0;
  std::string v = j[key].is_string() ? j[key].get<std::string>() : "";
  if (key == "separator" && v == "tab") v = "\t";
  if (v == "auto") return 0;
  if (v.size() == 1 && allowed.find(v[0]) != absl::string_view::npos) return v[0];
  return Invalid(source,
                 key == "separator"
                     ? "csv.separator must be \",\", \";\", \"\\t\" (or \"tab\") or \"auto\""
                     : "csv.decimal must be \".\", \",\" or \"auto\"");
}

absl::StatusOr<CsvDialect> ParseDialect(const json& j, absl::string_view source) {
  CsvDialect d;
  if (!j.is_object()) return Invalid(source, "'csv' must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "separator" && key != "decimal" && key != "encoding") {
      return Invalid(source, absl::StrCat("unknown key csv.", key,
                                          " (expected separator, decimal, encoding)"));
    }
  }
  SCV_ASSIGN_OR_RETURN(d.separator, ParseDialectChar(j, "separator", ",;\t", source));
  SCV_ASSIGN_OR_RETURN(d.decimal, ParseDialectChar(j, "decimal", ".,", source));
  if (j.contains("encoding")) {
    absl::StatusOr<CsvEncoding> e =
        ParseEncodingName(j["encoding"].is_string() ? j["encoding"].get<std::string>() : "");
    if (!e.ok()) return Invalid(source, absl::StrCat("csv.", e.status().message()));
    d.encoding = *e;
  }
  if (d.decimal == ',' && d.separator == ',') {
    return Invalid(source, "csv.decimal ',' cannot be read with csv.separator ','");
  }
  return d;
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
  if (j.contains("csv")) {
    SCV_ASSIGN_OR_RETURN(m.csv, ParseDialect(j["csv"], source));
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
