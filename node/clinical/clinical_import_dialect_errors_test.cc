// Exports whose numbers or bytes cannot be read for sure are refused, never mis-read: each error
// names file:line:column and why, and never quotes the cell.
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/column_mapping.h"
#include "node/clinical/testing_util.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

class ImportDialectErrorsTest : public ::testing::Test {
 protected:
  ImportDialectErrorsTest() : store_("dialect_errors") {}

  // Imports with dictionary columns and, when `csv_keys` is not empty, a mapping declaring them.
  absl::StatusOr<ClinicalImportReport> Import(const std::string& csv,
                                              const std::string& csv_keys = "",
                                              bool skip_bad_rows = false) {
    ClinicalImportOptions options;
    options.skip_bad_rows = skip_bad_rows;
    ColumnMapping mapping;
    if (!csv_keys.empty()) {
      absl::StatusOr<ColumnMapping> m = ParseColumnMapping(
          absl::StrCat(R"({"columns": {}, "drop": ["ville"], "csv": )", csv_keys, "}"), "m.json");
      EXPECT_TRUE(m.ok()) << m.status();
      if (m.ok()) mapping = *m;
      options.mapping = &mapping;
    }
    return ImportClinicalCsvText(store_.store(), TestPseudonymizer(), "adm.csv", csv, options);
  }

  // The refusal's message; the store stays empty.
  std::string Refused(const std::string& csv, const std::string& csv_keys = "") {
    absl::StatusOr<ClinicalImportReport> r = Import(csv, csv_keys);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(*CountClinicalPatients(store_.store()), 0);
    return r.ok() ? "" : std::string(r.status().message());
  }

  std::map<std::string, double> Values(const std::string& id) {
    return *LoadPatientValues(store_.store(), TestPseudonymizer().Pseudonym(id));
  }

  TempStore store_;
};

TEST_F(ImportDialectErrorsTest, ThousandsSeparatorsAreRefusedNotMisread) {
  const std::string csv =
      "patient_id;age;temperature;creatinine\n"
      "P1;70;38,2;88,4\n"
      "P2;64;37,9;1.234,5\n"
      "P3;55;36,8;1,234.5\n";
  const std::string message = Refused(csv);
  EXPECT_TRUE(absl::StrContains(message,
                                "adm.csv:3:4 (creatinine): a number with a thousands separator "
                                "(both '.' and ','); export numbers without digit grouping; "
                                "adm.csv:4:4 (creatinine): a number with a thousands separator"))
      << message;
  EXPECT_FALSE(absl::StrContains(message, "234")) << message;

  absl::StatusOr<ClinicalImportReport> r = Import(csv, "", /*skip_bad_rows=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_skipped, 2);
  EXPECT_EQ(r->dialect.decimal, ',');
  EXPECT_EQ(Values("P1"), (std::map<std::string, double>{
                              {"age", 70}, {"temperature", 38.2}, {"creatinine", 88.4}}));
  EXPECT_TRUE(Values("P2").empty());
  EXPECT_TRUE(Values("P3").empty());
}

TEST_F(ImportDialectErrorsTest, PointInADecimalCommaFileIsRefused) {
  const std::string csv =
      "patient_id;age;temperature;creatinine\n"
      "P1;70;38,2;88\n"
      "P2;64;37;1.234\n";
  // Detected: '.' in one column and ',' in another is no decimal style at all.
  EXPECT_EQ(Refused(csv),
            "adm.csv:1: the decimal separator is unclear: column 3 (temperature) has decimal "
            "commas (line 2) but column 4 (creatinine) has '.' (line 3), a decimal point or a "
            "thousands separator; declare \"decimal\" in the column mapping's \"csv\" object");
  // Declared ',': that one cell is refused.
  const std::string message = Refused(csv, R"({"decimal": ","})");
  EXPECT_TRUE(absl::StrContains(message,
                                "1 error(s): adm.csv:3:4 (creatinine): a '.' in a number, but "
                                "the file's decimal separator is ','"))
      << message;
  EXPECT_FALSE(absl::StrContains(message, "234")) << message;
}

TEST_F(ImportDialectErrorsTest, MixedDecimalStylesInOneColumnAreRefused) {
  const std::string csv =
      "patient_id;age;temperature\n"
      "P1;70;38,2\n"
      "P2;64;37\n"
      "P3;55;37.5\n";
  EXPECT_EQ(Refused(csv),
            "adm.csv:1:3 (temperature): mixed decimal separators in one column: ',' on line 2 and "
            "'.' on line 4; export the column in one style, without digit grouping");
  // Whole-column problems refuse the file in skip-bad-rows mode too.
  EXPECT_FALSE(Import(csv, "", /*skip_bad_rows=*/true).ok());
  EXPECT_EQ(*CountClinicalPatients(store_.store()), 0);
}

TEST_F(ImportDialectErrorsTest, DecimalCommaNeedsAnotherSeparator) {
  const std::string comma_file =
      "patient_id,age,temperature\n"
      "P1,70,\"38,2\"\n";
  EXPECT_EQ(Refused(comma_file, R"({"decimal": ","})"),
            "adm.csv:1: the column mapping declares the decimal separator ',' but the file's "
            "separator is ',' too; export with ';' separators, or declare \"decimal\": \".\"");
  // Undeclared, a quoted decimal comma in a ','-separated file is not a number.
  std::string message = Refused(comma_file);
  EXPECT_TRUE(absl::StrContains(message,
                                "adm.csv:2:3 (temperature): a ',' in a number, but the file's "
                                "decimal separator is '.'"))
      << message;
  // Text that is no number whatever its marks is just that.
  message = Refused("patient_id;temperature\nP1;37,5\nP2;fever, high\n");
  EXPECT_TRUE(absl::StrContains(message, "1 error(s): adm.csv:3:2 (temperature): not a number"))
      << message;
  // Nor is it with a declared '.'.
  message = Refused("patient_id;temperature\nP1;38,2\n", R"({"decimal": "."})");
  EXPECT_TRUE(absl::StrContains(message,
                                "adm.csv:2:2 (temperature): a ',' in a number, but the file's "
                                "decimal separator is '.'"))
      << message;
}

TEST_F(ImportDialectErrorsTest, InvalidUtf8IsRefusedWhenUtf8IsDeclared) {
  const std::string csv =
      "patient_id;age;ville\n"
      "P1;70;Lyon\n"
      "P2;65;Besan\xE7on SECRET\n";
  const std::string message = Refused(csv, R"({"encoding": "utf-8"})");
  EXPECT_EQ(message,
            absl::StrCat("adm.csv:3:3 (ville): not valid UTF-8 (byte offset ", csv.find('\xE7'),
                         " of the file), but the column mapping declares \"encoding\": "
                         "\"utf-8\"; if the file is Latin-1 or Windows-1252, declare "
                         "that \"encoding\" in the column mapping's \"csv\" object"));
  EXPECT_FALSE(absl::StrContains(message, "SECRET"));
  // The same file, detected, is Latin-1.
  absl::StatusOr<ClinicalImportReport> r = Import(csv, R"({})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dialect.encoding, CsvEncoding::kLatin1);
  EXPECT_EQ(Values("P2"), (std::map<std::string, double>{{"age", 65}}));
}

TEST_F(ImportDialectErrorsTest, AmbiguousSeparatorIsRefusedUntilDeclared) {
  // "poids, kg" splits on ',' as consistently as the records split on ';'.
  const std::string csv = "patient_id;poids, kg\nP1;70,5\n";
  EXPECT_EQ(Refused(csv),
            "adm.csv:1: cannot tell the separator: the header splits on ',' (2 fields) and on ';' "
            "(2 fields), and the next 20 records do not settle it; declare \"separator\" in the "
            "column mapping's \"csv\" object");
  // Declared, the header is read, and its unknown column named.
  EXPECT_TRUE(absl::StrContains(Refused(csv, R"({"separator": ";"})"),
                                "adm.csv:1:2 (poids, kg): unknown column"));
}

}  // namespace
}  // namespace scancov::node
