// A small RFC 4180 CSV parser for clinical exports: comma-separated (or another one-byte
// separator, such as ';' or tab, in the exports of European hospital systems), double-quoted
// fields with "" escapes and embedded separators or line breaks, LF or CRLF line ends, an
// optional UTF-8 byte-order mark. Blank lines are skipped. Each record carries the physical
// line number (1-based) on which it starts, so errors can name file:line:column.
//
// The parser works on bytes and only ever looks at ASCII ones (the separator, '"', CR, LF),
// so it splits UTF-8, Latin-1 and Windows-1252 text alike; fields keep the file's bytes
// (csv_dialect.h converts them to UTF-8).
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
// InvalidArgument "line N: why"; they never quote field content. `separator` is an ASCII byte
// other than '"', CR and LF.
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text, char separator = ',');

// The first `max_records` records only (at most; fewer when the text ends first), for
// guessing a file's dialect from its beginning. A quote still open when the limit is reached
// is not an error.
absl::StatusOr<std::vector<CsvRecord>> ParseCsvHead(absl::string_view text, char separator,
                                                    size_t max_records);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_CSV_PARSER_H_
