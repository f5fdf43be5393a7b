// A small RFC 4180 CSV parser for clinical exports: comma-separated, double-quoted fields
// with "" escapes and embedded separators or line breaks, LF or CRLF line ends, an optional
// UTF-8 byte-order mark. Blank lines are skipped. Each record carries the physical line number
// (1-based) on which it starts, so errors can name file:line:column.
#ifndef SCANCOV_NODE_CLINICAL_CSV_PARSER_H_
#define SCANCOV_NODE_CLINICAL_CSV_PARSER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::node {

struct CsvRecord {
  int line = 0;  // physical line where the record starts
  std::vector<std::string> fields;
};

// Parses the whole text. Errors (an unterminated quote, a quote inside an unquoted field) are
// InvalidArgument "line N: why"; they never quote field content.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_CSV_PARSER_H_
