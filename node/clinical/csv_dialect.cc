#include "node/clinical/csv_dialect.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace scancov::node {
namespace {

constexpr char kUtf8Bom[] = "\xEF\xBB\xBF";
constexpr char kSeparators[] = {',', ';', '\t'};
// Separator detection reads the header and this many records after it.
constexpr size_t kDetectRecords = 20;
constexpr char kDeclareHint[] = "the column mapping's \"csv\" object";

// Windows-1252 0x80-0x9F as code points; 0 where it leaves the byte undefined.
constexpr char32_t kWindows1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {  // the Windows-1252 table stays in the Basic Multilingual Plane
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Physical line (1-based) of a byte offset, counting line ends as the parser does.
int LineAt(absl::string_view bytes, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < bytes.size(); ++i) {
    if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.size() || bytes[i + 1] != '\n')))
      ++line;
  }
  return line;
}

bool HasByteIn(absl::string_view bytes, unsigned char lo, unsigned char hi) {
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= lo && u <= hi) return true;
  }
  return false;
}

struct Split {
  char separator = 0;
  size_t header_fields = 0;  // 0: the header does not parse with this separator
  bool consistent = false;   // the next records have as many fields as the header
  int header_line = 1;
};

std::vector<Split> TrySeparators(absl::string_view bytes) {
  std::vector<Split> splits;
  for (const char sep : kSeparators) {
    Split s;
    s.separator = sep;
    absl::StatusOr<std::vector<CsvRecord>> header = ParseCsvHead(bytes, sep, 1);
    if (header.ok() && !header->empty()) {
      s.header_fields = header->front().fields.size();
      s.header_line = header->front().line;
    }
    // A parse error after the header leaves the split inconsistent (the full parse reports it).
    absl::StatusOr<std::vector<CsvRecord>> head = ParseCsvHead(bytes, sep, kDetectRecords + 1);
    if (head.ok() && !head->empty()) {
      s.consistent = true;
      for (const CsvRecord& r : *head) s.consistent &= r.fields.size() == s.header_fields;
    }
    splits.push_back(s);
  }
  return splits;
}

absl::StatusOr<char> ChooseSeparator(absl::string_view source, absl::string_view bytes,
                                     char declared, std::vector<std::string>* notes) {
  const std::vector<Split> splits = TrySeparators(bytes);
  if (declared != 0) {
    for (const Split& s : splits) {
      if (s.separator == declared && s.header_fields > 1) return declared;
    }
    for (const Split& s : splits) {
      if (s.header_fields > 1 && s.consistent) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ":", s.header_line, ": the header is one field with the declared separator ",
            SeparatorName(declared), " but ", s.header_fields, " with ", SeparatorName(s.separator),
            "; check \"separator\" in ", kDeclareHint));
      }
    }
    return declared;
  }
  std::vector<const Split*> several, consistent;
  for (const Split& s : splits) {
    if (s.header_fields <= 1) continue;
    several.push_back(&s);
    if (s.consistent) consistent.push_back(&s);
  }
  const Split* chosen = nullptr;
  if (several.empty()) return ',';  // one column, or no header: the import says which
  if (several.size() == 1) chosen = several[0];
  if (chosen == nullptr && consistent.size() == 1) chosen = consistent[0];
  if (chosen == nullptr) {
    std::vector<std::string> ways;
    for (const Split* s : several) {
      ways.push_back(absl::StrCat(SeparatorName(s->separator), " (", s->header_fields, " fields)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", several[0]->header_line, ": cannot tell the separator: the header splits on ",
        absl::StrJoin(ways, " and on "), ", and the next ", kDetectRecords,
        " records do not settle it; declare \"separator\" in ", kDeclareHint));
  }
  if (chosen->separator != ',') {
    notes->push_back(absl::StrCat("separator ", SeparatorName(chosen->separator),
                                  " (detected from the header)"));
  }
  return chosen->separator;
}

// The first field (in file order) that is not UTF-8 holds the first bad byte: name its column.
absl::Status InvalidUtf8(absl::string_view source, absl::string_view bytes, size_t offset,
                         const std::vector<CsvRecord>& records, absl::string_view why) {
  std::string column;
  for (const CsvRecord& r : records) {
    for (size_t f = 0; f < r.fields.size() && column.empty(); ++f) {
      if (FirstInvalidUtf8(r.fields[f]) == absl::string_view::npos) continue;
      column = absl::StrCat(":", f + 1);
      const std::vector<std::string>& header = records.front().fields;
      if (f < header.size() && FirstInvalidUtf8(header[f]) == absl::string_view::npos) {
        absl::StrAppend(&column, " (", absl::StripAsciiWhitespace(header[f]), ")");
      }
    }
    if (!column.empty()) break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      source, ":", LineAt(bytes, offset), column, ": not valid UTF-8 (byte offset ", offset,
      " of the file), but ", why,
      "; if the file is Latin-1 or Windows-1252, declare that \"encoding\" in ", kDeclareHint));
}

absl::StatusOr<CsvEncoding> ChooseEncoding(absl::string_view source, absl::string_view bytes,
                                           CsvEncoding declared,
                                           const std::vector<CsvRecord>& records,
                                           std::vector<std::string>* notes) {
  const bool bom = absl::StartsWith(bytes, kUtf8Bom);
  const size_t bad = FirstInvalidUtf8(bytes);
  const bool utf8 = bad == absl::string_view::npos;
  if (declared == CsvEncoding::kUtf8 || (declared == CsvEncoding::kDetect && bom)) {
    if (utf8) return CsvEncoding::kUtf8;
    return InvalidUtf8(source, bytes, bad, records,
                       declared == CsvEncoding::kUtf8
                           ? "the column mapping declares \"encoding\": \"utf-8\""
                           : "the file starts with a UTF-8 byte-order mark");
  }
  if (declared == CsvEncoding::kDetect) {
    if (utf8) return CsvEncoding::kUtf8;
    const CsvEncoding e =
        HasByteIn(bytes, 0x80, 0x9F) ? CsvEncoding::kWindows1252 : CsvEncoding::kLatin1;
    notes->push_back(absl::StrCat("read as ", EncodingName(e), ", converted to UTF-8: the file is ",
                                  "not valid UTF-8 (first at line ", LineAt(bytes, bad),
                                  "); if that is wrong, declare \"encoding\" in ", kDeclareHint));
    return e;
  }
  if (bom) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":1: the file starts with a UTF-8 byte-order mark, but the column mapping ",
        "declares \"encoding\" ", EncodingName(declared)));
  }
  notes->push_back(absl::StrCat(
      "read as ", EncodingName(declared), " (declared), converted to UTF-8",
      utf8 && HasByteIn(bytes, 0x80, 0xFF) ? "; note: the file would also be valid UTF-8" : ""));
  return declared;
}

}  // namespace

absl::StatusOr<CsvEncoding> ParseEncodingName(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  if (n == "auto") return CsvEncoding::kDetect;
  if (n == "utf-8" || n == "utf8") return CsvEncoding::kUtf8;
  if (n == "latin1" || n == "latin-1" || n == "iso-8859-1" || n == "iso8859-1") {
    return CsvEncoding::kLatin1;
  }
  if (n == "windows-1252" || n == "cp1252") return CsvEncoding::kWindows1252;
  return absl::InvalidArgumentError(
      "encoding must be utf-8, latin1 (iso-8859-1), windows-1252 (cp1252) or auto");
}

const char* EncodingName(CsvEncoding encoding) {
  switch (encoding) {
    case CsvEncoding::kUtf8:
      return "UTF-8";
    case CsvEncoding::kLatin1:
      return "Latin-1 (ISO-8859-1)";
    case CsvEncoding::kWindows1252:
      return "Windows-1252";
    case CsvEncoding::kDetect:
      break;
  }
  return "detected";
}

std::string SeparatorName(char separator) {
  if (separator == '\t') return "tab";
  return absl::StrCat("'", std::string(1, separator), "'");
}

size_t FirstInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t more = 0;  // continuation bytes; the first one's range is narrower for some leads
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    for (size_t k = 1; k <= more; ++k) {
      if (i + k >= text.size()) return i;
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += more + 1;
  }
  return absl::string_view::npos;
}

std::string ToUtf8(absl::string_view bytes, CsvEncoding from) {
  if (from != CsvEncoding::kLatin1 && from != CsvEncoding::kWindows1252) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    char32_t cp = u;
    if (from == CsvEncoding::kWindows1252 && u >= 0x80 && u <= 0x9F &&
        kWindows1252High[u - 0x80] != 0) {
      cp = kWindows1252High[u - 0x80];
    }
    AppendUtf8(cp, out);
  }
  return out;
}

absl::StatusOr<DecodedCsv> ReadCsv(absl::string_view source, absl::string_view bytes,
                                   const CsvDialect& declared) {
  if (absl::StartsWith(bytes, "\xFF\xFE") || absl::StartsWith(bytes, "\xFE\xFF")) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":1: UTF-16 text (a UTF-16 byte-order mark); export the file as UTF-8 or Latin-1"));
  }
  DecodedCsv out;
  SCV_ASSIGN_OR_RETURN(out.separator,
                       ChooseSeparator(source, bytes, declared.separator, &out.notes));
  absl::StatusOr<std::vector<CsvRecord>> records = ParseCsv(bytes, out.separator);
  if (!records.ok()) return Annotate(records.status(), source);
  out.records = std::move(records).value();
  SCV_ASSIGN_OR_RETURN(out.encoding,
                       ChooseEncoding(source, bytes, declared.encoding, out.records, &out.notes));
  if (out.encoding != CsvEncoding::kUtf8) {
    for (CsvRecord& r : out.records) {
      for (std::string& f : r.fields) f = ToUtf8(f, out.encoding);
    }
  }
  return out;
}

}  // namespace scancov::node
