// Internal to the clinical importer (clinical_import.cc): how each CSV column is handled,
// and how one cell becomes a canonical value. Messages built here never contain cell text.
#ifndef SCANCOV_NODE_CLINICAL_IMPORT_PLAN_H_
#define SCANCOV_NODE_CLINICAL_IMPORT_PLAN_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/clinical/column_mapping.h"
#include "node/clinical/csv_parser.h"
#include "sites/cohort/variables.h"

namespace scancov::node::internal {

enum class ColumnKind { kId, kDrop, kVariable };

struct PlannedColumn {
  ColumnKind kind = ColumnKind::kDrop;
  std::string header;
  const sites::VariableSpec* spec = nullptr;
  const sites::AlternativeUnit* unit = nullptr;          // declared unit to convert from
  const std::map<std::string, double>* codes = nullptr;  // coded cells (mapping "values")
  bool unit_declared = false;  // the mapping names the unit: no column-level unit guess
};

struct ImportPlan {
  int id_index = -1;
  std::vector<PlannedColumn> columns;  // one per header field
  std::vector<int> variable_fields;    // field indices of kVariable columns
  std::vector<std::string> variables;  // their canonical names, same order
  std::vector<std::string> dropped;    // headers of dropped columns
  char decimal = '.';                  // the file's decimal separator (decimal_style.h)
};

// "file:line:col (header): why"
std::string Where(absl::string_view file, int line, int field_index, absl::string_view header);

// Builds the plan from the header record. Every header problem (unknown column, a unit-suffixed
// header in a wrong unit, a variable given twice, no identifier column) is reported, joined, as
// one InvalidArgument.
absl::StatusOr<ImportPlan> PlanColumns(absl::string_view file, const CsvRecord& header,
                                       const ColumnMapping* mapping);

// Parses one cell into the canonical unit, numbers with the `decimal` separator ('.' or ',').
// Returns NaN for a missing cell (empty, NA, N/A, NaN, NULL, any case). On error returns NaN
// and sets `*why` (never quoting the cell).
double ParseCell(const PlannedColumn& column, absl::string_view text, char decimal,
                 std::string* why);

// Range/type check of a canonical value; "" when acceptable, else why (naming the expected
// range and unit, and an alternative unit the value would fit).
std::string CheckValue(const sites::VariableSpec& spec, double value);

// Column-level unit check: "" when the median of `values` (canonical, NaN skipped) is typical
// for the canonical unit or cannot be judged, else why.
std::string CheckColumnUnits(const sites::VariableSpec& spec, std::vector<double> values);

}  // namespace scancov::node::internal

#endif  // SCANCOV_NODE_CLINICAL_IMPORT_PLAN_H_
