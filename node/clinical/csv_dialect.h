// The dialect of a clinical CSV export: its field separator, decimal separator and character
// encoding. Hospital systems in Europe export `;`-separated files with decimal commas (`37,5`)
// in Latin-1 (ISO-8859-1) or Windows-1252; the dictionary's own format is `,`, `.` and UTF-8.
// A column mapping may declare each of the three ("csv" in column_mapping.h); what it does not
// declare is detected:
//   - separator: from the header record (quoted fields respected): the one of `,` `;` tab that
//     splits it into more than one field; if several do, the one whose field count the next
//     20 records repeat; if that is still several, the file is refused (declare it). A header
//     that no candidate splits is read with `,`;
//   - encoding: valid UTF-8 (with or without a byte-order mark) is UTF-8; otherwise the bytes
//     >= 0x80 are Latin-1, or Windows-1252 when some are in 0x80-0x9F (control characters in
//     Latin-1, letters and punctuation such as the euro sign or the curly quotes in
//     Windows-1252). A UTF-8 byte-order mark on a file that is not valid UTF-8, and UTF-16 (a
//     UTF-16 byte-order mark), are refused;
//   - decimal separator: from the numeric cells, once the columns are known (decimal_style.h).
// Every field is converted to UTF-8 before the header is matched against the mapping.
//
// Errors name file:line:column and say why; like the parser's they never quote a cell.
#ifndef SCANCOV_NODE_CLINICAL_CSV_DIALECT_H_
#define SCANCOV_NODE_CLINICAL_CSV_DIALECT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/clinical/csv_parser.h"

namespace scancov::node {

enum class CsvEncoding { kDetect, kUtf8, kLatin1, kWindows1252 };

struct CsvDialect {
  char separator = 0;  // ',', ';' or '\t'; 0 = detect
  char decimal = 0;    // '.' or ','; 0 = detect
  CsvEncoding encoding = CsvEncoding::kDetect;
};

// Mapping spellings, any case: "utf-8"/"utf8", "latin1"/"latin-1"/"iso-8859-1"/"iso8859-1",
// "windows-1252"/"cp1252". "auto" is kDetect. Anything else is InvalidArgument.
absl::StatusOr<CsvEncoding> ParseEncodingName(absl::string_view name);
// For messages: "UTF-8", "Latin-1 (ISO-8859-1)", "Windows-1252", "detected".
const char* EncodingName(CsvEncoding encoding);
// For messages: "','", "';'", "tab".
std::string SeparatorName(char separator);

// Byte offset of the first byte that does not belong to a well-formed UTF-8 sequence (no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos when `text` is valid UTF-8.
size_t FirstInvalidUtf8(absl::string_view text);

// Latin-1 or Windows-1252 bytes as UTF-8 (the five bytes Windows-1252 leaves undefined become
// the Latin-1 control characters, as web browsers read them). Other encodings: unchanged.
std::string ToUtf8(absl::string_view bytes, CsvEncoding from);

struct DecodedCsv {
  std::vector<CsvRecord> records;  // fields in UTF-8
  char separator = ',';
  CsvEncoding encoding = CsvEncoding::kUtf8;  // the file's, as read (never kDetect)
  std::vector<std::string> notes;             // what was detected or converted, for the report
};

// Splits `bytes` into records with the declared or detected separator and converts the fields
// to UTF-8 from the declared or detected encoding (`declared.decimal` is not used here). Errors
// are InvalidArgument prefixed with `source`: a parse error, an ambiguous separator, a declared
// separator that leaves the header one field while another splits it, bytes that are not
// UTF-8 when UTF-8 is declared (with their line, column and byte offset), a byte-order mark
// that contradicts the content or the declaration.
absl::StatusOr<DecodedCsv> ReadCsv(absl::string_view source, absl::string_view bytes,
                                   const CsvDialect& declared);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_CLINICAL_CSV_DIALECT_H_
