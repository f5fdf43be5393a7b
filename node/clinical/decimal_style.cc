#include "node/clinical/decimal_style.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scancov::node::internal {
namespace {

enum class Style { kNone, kComma, kDot };

bool ReadsAsNumber(absl::string_view text) {
  double v = 0;
  return absl::SimpleAtod(text, &v) && std::isfinite(v);
}

Style Classify(absl::string_view cell) {
  const absl::string_view t = absl::StripAsciiWhitespace(cell);
  const auto commas = std::count(t.begin(), t.end(), ',');
  const bool dot = t.find('.') != absl::string_view::npos;
  if (commas == 1 && !dot) {
    std::string point(t);
    point[point.find(',')] = '.';
    return ReadsAsNumber(point) ? Style::kComma : Style::kNone;
  }
  if (commas == 0 && dot) return ReadsAsNumber(t) ? Style::kDot : Style::kNone;
  return Style::kNone;
}

// The first line of each style in one column; 0 = none.
struct ColumnStyle {
  int field = 0;
  int comma_line = 0;
  int dot_line = 0;
};

std::vector<ColumnStyle> ClassifyColumns(const std::vector<CsvRecord>& records,
                                         const ImportPlan& plan) {
  std::vector<ColumnStyle> columns;
  for (const int f : plan.variable_fields) {
    if (plan.columns[f].codes == nullptr) columns.push_back({f, 0, 0});
  }
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() != plan.columns.size()) continue;  // malformed, reported later
    for (ColumnStyle& c : columns) {
      const Style s = Classify(rec.fields[c.field]);
      if (s == Style::kComma && c.comma_line == 0) c.comma_line = rec.line;
      if (s == Style::kDot && c.dot_line == 0) c.dot_line = rec.line;
    }
  }
  return columns;
}

// Whether the text is a number but for its '.' and ',' marks (else it is no number at all, and
// the marks are not what is wrong with it).
bool NumberButForMarks(absl::string_view text) {
  std::string digits;
  for (const char c : text) {
    if (c != '.' && c != ',') digits.push_back(c);
  }
  return ReadsAsNumber(digits);
}

}  // namespace

bool ParseNumber(absl::string_view text, char decimal, double* value, std::string* why) {
  const bool comma = text.find(',') != absl::string_view::npos;
  const bool dot = text.find('.') != absl::string_view::npos;
  if ((comma || dot) && !NumberButForMarks(text)) return false;
  if (comma && dot) {
    *why =
        "a number with a thousands separator (both '.' and ','); export numbers without "
        "digit grouping";
    return false;
  }
  if (decimal == ',' && dot) {
    *why =
        "a '.' in a number, but the file's decimal separator is ',' (a thousands separator, "
        "or a decimal point in a decimal-comma file?); export numbers without digit grouping "
        "and in one decimal style";
    return false;
  }
  if (decimal != ',' && comma) {
    *why =
        "a ',' in a number, but the file's decimal separator is '.' (decimal commas are read "
        "with a ';' or tab separator, detected or declared in the column mapping's \"csv\" "
        "object; a thousands separator never is)";
    return false;
  }
  std::string point(text);
  if (comma) point[point.find(',')] = '.';  // a second ',' fails below
  return absl::SimpleAtod(point, value) && std::isfinite(*value);
}

absl::StatusOr<char> ChooseDecimal(absl::string_view file, const std::vector<CsvRecord>& records,
                                   const ImportPlan& plan, char declared, char separator,
                                   std::vector<std::string>* notes) {
  const int header_line = records.front().line;
  if (declared == ',' && separator == ',') {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ":", header_line, ": the column mapping declares the decimal separator ',' but ",
        "the file's separator is ',' too; export with ';' separators, or declare \"decimal\": "
        "\".\""));
  }
  if (declared != 0) return declared;
  if (separator == ',') return '.';
  const std::vector<ColumnStyle> columns = ClassifyColumns(records, plan);
  std::vector<std::string> errors;
  const ColumnStyle* comma = nullptr;  // first column of each style
  const ColumnStyle* dot = nullptr;
  for (const ColumnStyle& c : columns) {
    const std::string where = Where(file, header_line, c.field, plan.columns[c.field].header);
    if (c.comma_line != 0 && c.dot_line != 0) {
      errors.push_back(absl::StrCat(where, ": mixed decimal separators in one column: ',' on line ",
                                    c.comma_line, " and '.' on line ", c.dot_line,
                                    "; export the column in one style, without digit grouping"));
    }
    if (c.comma_line != 0 && comma == nullptr) comma = &c;
    if (c.dot_line != 0 && dot == nullptr) dot = &c;
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  if (comma != nullptr && dot != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ":", header_line, ": the decimal separator is unclear: column ", comma->field + 1,
        " (", plan.columns[comma->field].header, ") has decimal commas (line ", comma->comma_line,
        ") but column ", dot->field + 1, " (", plan.columns[dot->field].header, ") has '.' (line ",
        dot->dot_line,
        "), a decimal point or a thousands separator; declare \"decimal\" in the column "
        "mapping's \"csv\" object"));
  }
  if (comma == nullptr) return '.';
  const auto n = std::count_if(columns.begin(), columns.end(),
                               [](const ColumnStyle& c) { return c.comma_line != 0; });
  notes->push_back(absl::StrCat("decimal separator ',' (detected: ", n, " numeric column",
                                n == 1 ? "" : "s", " with decimal commas, none with '.')"));
  return ',';
}

}  // namespace scancov::node::internal
