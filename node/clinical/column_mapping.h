// A column mapping lets a site import an export whose columns differ from the dictionary
// (sites/cohort/variables.h): which column holds the patient identifier, which source column
// is which canonical variable and in which unit, how coded values map to ours, which columns
// to drop, and how to reduce several rows per patient to one.
//
// JSON format (every key optional except "columns"):
//   {
//     "id_column": "PATIENT_ID",          // default "patient_id"
//     "fill_id_forward": true,            // an empty id continues the previous patient
//     "rows_per_patient": "first_value",  // "one" (default: a repeated id is an error),
//                                         // "first_row" (keep each patient's first row),
//                                         // "first_value" (per column, the first non-missing)
//     "columns": {
//       "Urea": {"name": "urea", "unit": "mmol/L"},
//       "gender": {"name": "sex", "values": {"1": 1, "2": 0}},
//       "age": "age"                      // shorthand: canonical name, canonical unit
//     },
//     "drop": ["RE_DATE", "Admission time"],
//     "drop_unmapped": false,             // true: silently drop every other column
//     "csv": {                            // the file's dialect (csv_dialect.h); each key
//       "separator": ";",                 //   ",", ";" or "\t" (also "tab")
//       "decimal": ",",                   //   "." or ","; not "," with the separator ","
//       "encoding": "latin1"              //   "utf-8", "latin1" (iso-8859-1), "windows-1252"
//     }                                   //   (cp1252); absent or "auto": detected
//   }
// A unit is the canonical unit or one of the variable's alternative units, which the importer
// then converts. Direct-identifier columns are always dropped.
#ifndef SCANCOV_NODE_CLINICAL_COLUMN_MAPPING_H_
#define SCANCOV_NODE_CLINICAL_COLUMN_MAPPING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/clinical/csv_dialect.h"

namespace scancov::node {

enum class RowsPerPatient { kOne, kFirstRow, kFirstValue };

struct MappedColumn {
  std::string name;                      // canonical variable
  std::string unit;                      // "" = canonical unit
  std::map<std::string, double> values;  // coded cell text -> value; empty = numeric cells
};

struct ColumnMapping {
  std::string id_column = "patient_id";
  bool fill_id_forward = false;
  RowsPerPatient rows_per_patient = RowsPerPatient::kOne;
  std::map<std::string, MappedColumn> columns;  // source header -> target
  std::vector<std::string> drop;
  bool drop_unmapped = false;
  CsvDialect csv;  // what is not declared is detected
};

// Parses and validates a mapping (canonical names and units must exist in the dictionary).
// `source` names the mapping in errors.
absl::StatusOr<ColumnMapping> ParseColumnMapping(absl::string_view json, absl::string_view source);
absl::StatusOr<ColumnMapping> LoadColumnMapping(const std::string& path);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_COLUMN_MAPPING_H_
