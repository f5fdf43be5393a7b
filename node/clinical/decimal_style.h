// Internal to the clinical importer (clinical_import.cc): the decimal separator of a CSV's
// numbers, '.' or ',' (`37,5` in the exports of European hospital systems).
//
// A column mapping may declare it ("csv": {"decimal": ","}); a declared ',' needs a separator
// other than ','. Otherwise it is detected from the numeric cells of the variable columns
// (coded columns, whose cells are matched as text, are not looked at):
//   - a cell is comma-style when it has one ',', no '.', and reads as a number with the ',' as
//     a point (`37,5`); dot-style when it has a '.', no ',', and reads as a number (`37.5`);
//     other cells (`38`, `NA`, `1.234,5`) say nothing;
//   - with the separator ',' the decimal is '.' (a quoted `"37,5"` is then not a number);
//   - a column with cells of both styles refuses the file (mixed styles in one column);
//   - comma-style cells in some columns and dot-style cells in others refuse the file too: a
//     '.' there may be a thousands separator (`1.234`), so the steward has to declare it;
//   - comma-style cells and no dot-style cell: ','; otherwise '.'.
// Whatever the decimal, a cell with both '.' and ',' (a thousands separator, `1.234,5` or
// `1,234.5`) is refused, and so is a cell with the other mark ('.' in a decimal-comma file, ','
// in a decimal-point one): nothing is read as a number it might not be. Digit grouping alone
// in a file without decimal commas (`1.234` for 1234) cannot be told from a decimal point.
#ifndef SCANCOV_NODE_CLINICAL_DECIMAL_STYLE_H_
#define SCANCOV_NODE_CLINICAL_DECIMAL_STYLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/clinical/csv_parser.h"
#include "node/clinical/import_plan.h"

namespace scancov::node::internal {

// Parses a number written with `decimal` ('.' or ','); `text` is already stripped. Returns
// false when it is not one, with `*why` set when the reason is its decimal or grouping marks
// (it would be a number without them; never quoting the text), left empty otherwise.
bool ParseNumber(absl::string_view text, char decimal, double* value, std::string* why);

// The file's decimal separator: `declared` ('.' or ','; 0 = detect, as above) given the
// file's `separator`. Errors are InvalidArgument naming file:line:column and the lines of the
// conflicting cells, never their text. A detected ',' adds a line to `notes`.
absl::StatusOr<char> ChooseDecimal(absl::string_view file, const std::vector<CsvRecord>& records,
                                   const ImportPlan& plan, char declared, char separator,
                                   std::vector<std::string>* notes);

}  // namespace scancov::node::internal

#endif  // SCANCOV_NODE_CLINICAL_DECIMAL_STYLE_H_
