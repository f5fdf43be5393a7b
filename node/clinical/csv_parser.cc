#include "node/clinical/csv_parser.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace scancov::node {
namespace {

// A character-at-a-time state machine; Step() returns an error message or "".
class CsvScanner {
 public:
  CsvScanner(absl::string_view text, char separator, size_t max_records)
      : text_(text), separator_(separator), max_records_(max_records) {}

  absl::StatusOr<std::vector<CsvRecord>> Run() {
    for (pos_ = 0; pos_ < text_.size(); ++pos_) {
      const std::string error = in_quotes_ ? StepQuoted() : StepUnquoted();
      if (!error.empty()) return absl::InvalidArgumentError(error);
      if (records_.size() >= max_records_) return std::move(records_);
    }
    if (in_quotes_) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", quote_line_, ": unterminated quoted field"));
    }
    if (!field_.empty() || field_was_quoted_ || !current_.fields.empty()) EndRecord();
    return std::move(records_);
  }

 private:
  char Next() const { return pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0'; }

  std::string StepQuoted() {
    const char c = text_[pos_];
    if (c == '"' && Next() == '"') {
      field_.push_back('"');
      ++pos_;
    } else if (c == '"') {
      in_quotes_ = false;
    } else {
      if (c == '\n') ++line_;
      field_.push_back(c);
    }
    return "";
  }

  std::string StepUnquoted() {
    const char c = text_[pos_];
    if (c == '"') {
      if (!field_.empty() || field_was_quoted_) {
        return absl::StrCat("line ", line_, ": quote inside an unquoted field");
      }
      in_quotes_ = field_was_quoted_ = true;
      quote_line_ = line_;
    } else if (c == separator_) {
      EndField();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && Next() == '\n') ++pos_;
      ++line_;
      EndRecord();
    } else if (field_was_quoted_) {
      return absl::StrCat("line ", line_, ": text after a closing quote");
    } else {
      field_.push_back(c);
    }
    return "";
  }

  void EndField() {
    current_.fields.push_back(std::move(field_));
    field_.clear();
    field_was_quoted_ = false;
  }

  void EndRecord() {
    EndField();
    const bool blank = current_.fields.size() == 1 && current_.fields[0].empty();
    if (!blank) records_.push_back(std::move(current_));
    current_ = CsvRecord{line_, {}};
  }

  absl::string_view text_;
  const char separator_;
  const size_t max_records_;
  size_t pos_ = 0;
  int line_ = 1;
  int quote_line_ = 0;
  bool in_quotes_ = false;
  bool field_was_quoted_ = false;
  std::string field_;
  CsvRecord current_{1, {}};
  std::vector<CsvRecord> records_;
};

}  // namespace

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view text, char separator) {
  return ParseCsvHead(text, separator, std::numeric_limits<size_t>::max());
}

absl::StatusOr<std::vector<CsvRecord>> ParseCsvHead(absl::string_view text, char separator,
                                                    size_t max_records) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  if (max_records == 0) return std::vector<CsvRecord>{};
  return CsvScanner(text, separator, max_records).Run();
}

}  // namespace scancov::node
