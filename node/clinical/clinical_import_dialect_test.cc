// Real exports: the same admission data written as a European hospital system writes it (';'
// separators, decimal commas, Latin-1 or Windows-1252, CRLF) imports to exactly the values of
// the dictionary's ',' / '.' / UTF-8 CSV, whether the dialect is detected or declared.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/file_util.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/column_mapping.h"
#include "node/clinical/testing_util.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

// The site's mapping (JSON \u escapes: the mapping file itself is UTF-8).
constexpr char kColumns[] = R"json(
  "id_column": "IPP",
  "columns": {
    "\u00c2ge": "age",
    "Temp\u00e9rature": "temperature",
    "Cr\u00e9atinine (\u00b5mol/L)": {"name": "creatinine", "unit": "umol/L"},
    "Sexe": {"name": "sex", "values": {"M": 1, "F": 0}}
  },
  "drop": ["Nom", "Ville"])json";

// UTF-8 throughout; the exports below re-encode it. Numbers are written with '.'.
const std::vector<std::string> kHeader = {"IPP",
                                          "Nom",
                                          "Ville",
                                          "\xC3\x82ge",
                                          "Temp\xC3\xA9rature",
                                          "Cr\xC3\xA9"
                                          "atinine (\xC2\xB5mol/L)",
                                          "Sexe"};
const std::vector<std::vector<std::string>> kRows = {
    {"P001", "Zo\xC3\xAB M\xC3\xBCller", "Z\xC3\xBCrich", "67", "38.2", "88.4", "F"},
    {"P002", "Ren\xC3\xA9 Dupr\xC3\xA9", "Besan\xC3\xA7on", "54", "37.5", "102", "M"},
    {"P003", "J\xC3\xBCrgen Wei\xC3\x9F", "K\xC3\xB6ln", "81", "39", "", "M"},
    {"P004", "Chlo\xC3\xAB B\xC5\x93uf", "Saint-\xC3\x89tienne; Loire", "45.5", "36.9", "71.3",
     "F"},
    {"P005", "No\xC3\xABl",
     "Orl\xC3\xA9"
     "ans",
     "72", "NA", "130.5", "M"},
};

struct Dialect {
  char separator = ',';
  char decimal = '.';
  CsvEncoding encoding = CsvEncoding::kUtf8;
  bool bom = false;
  const char* line_end = "\n";
};

// UTF-8 to Latin-1 or Windows-1252 for the characters above (test-side, independent of the
// importer's decoder).
std::string Encode(const std::string& utf8, CsvEncoding to) {
  if (to == CsvEncoding::kUtf8) return utf8;
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c == 0xC5 && static_cast<unsigned char>(utf8[i + 1]) == 0x93) {  // U+0153
      out.push_back(to == CsvEncoding::kWindows1252 ? '\x9C' : '?');
      ++i;
    } else {  // two-byte sequences up to U+00FF
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F)));
      ++i;
    }
  }
  return out;
}

std::string Export(const Dialect& d) {
  std::string text = d.bom ? "\xEF\xBB\xBF" : "";
  const auto line = [&](const std::vector<std::string>& fields) {
    std::vector<std::string> out;
    for (std::string f : fields) {
      if (d.decimal == ',' && !f.empty() && f[0] >= '0' && f[0] <= '9') {
        absl::StrReplaceAll({{".", ","}}, &f);
      }
      if (f.find(d.separator) != std::string::npos) f = absl::StrCat("\"", f, "\"");
      out.push_back(Encode(f, d.encoding));
    }
    absl::StrAppend(&text, absl::StrJoin(out, std::string(1, d.separator)), d.line_end);
  };
  line(kHeader);
  for (const auto& row : kRows) line(row);
  return text;
}

ColumnMapping Mapping(const std::string& csv_keys = "") {
  const std::string json =
      absl::StrCat("{", kColumns, csv_keys.empty() ? "" : ",\n  \"csv\": ", csv_keys, "}");
  absl::StatusOr<ColumnMapping> m = ParseColumnMapping(json, "mapping.json");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : ColumnMapping{};
}

std::map<std::string, double> Values(NodeStore& store, const std::string& id) {
  absl::StatusOr<std::map<std::string, double>> v =
      LoadPatientValues(store, TestPseudonymizer().Pseudonym(id));
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : std::map<std::string, double>{};
}

// The values of kRows, checked one by one (the standard CSV must give them too).
void ExpectKnownValues(NodeStore& store) {
  using Map = std::map<std::string, double>;
  EXPECT_EQ(Values(store, "P001"),
            (Map{{"age", 67}, {"temperature", 38.2}, {"creatinine", 88.4}, {"sex", 0}}));
  EXPECT_EQ(Values(store, "P002"),
            (Map{{"age", 54}, {"temperature", 37.5}, {"creatinine", 102}, {"sex", 1}}));
  EXPECT_EQ(Values(store, "P003"), (Map{{"age", 81}, {"temperature", 39}, {"sex", 1}}));
  EXPECT_EQ(Values(store, "P004"),
            (Map{{"age", 45.5}, {"temperature", 36.9}, {"creatinine", 71.3}, {"sex", 0}}));
  EXPECT_EQ(Values(store, "P005"), (Map{{"age", 72}, {"creatinine", 130.5}, {"sex", 1}}));
}

// Names and cities (in any encoding) appear nowhere: not in the report, not in the database.
void ExpectNoIdentifiers(const ClinicalImportReport& r, TempStore& t) {
  t.Close();
  const std::string db = *ReadFileToString(t.path());
  const std::string report =
      absl::StrCat(absl::StrJoin(r.notes, "|"), absl::StrJoin(r.row_errors, "|"));
  for (const auto& row : kRows) {
    for (const std::string& identifying : {row[1], row[2]}) {
      for (CsvEncoding e : {CsvEncoding::kUtf8, CsvEncoding::kLatin1, CsvEncoding::kWindows1252}) {
        EXPECT_FALSE(absl::StrContains(db, Encode(identifying, e))) << row[0];
        EXPECT_FALSE(absl::StrContains(report, Encode(identifying, e))) << row[0];
      }
    }
  }
  t.Open();
}

TEST(ImportDialectTest, StandardCsvGivesTheKnownValues) {
  TempStore t("dialect_standard");
  const ColumnMapping m = Mapping();
  absl::StatusOr<ClinicalImportReport> r = ImportClinicalCsvText(
      t.store(), TestPseudonymizer(), "standard.csv", Export({}), {.mapping = &m});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dialect.separator, ',');
  EXPECT_EQ(r->dialect.decimal, '.');
  EXPECT_EQ(r->dialect.encoding, CsvEncoding::kUtf8);
  EXPECT_TRUE(r->notes.empty());
  ExpectKnownValues(t.store());
}

TEST(ImportDialectTest, SemicolonDecimalCommaLatin1ExportIsDetected) {
  TempStore t("dialect_latin1");
  const std::string bytes = Export({';', ',', CsvEncoding::kLatin1, false, "\r\n"});
  // The generated file really is what a European export looks like.
  ASSERT_TRUE(absl::StrContains(bytes, "IPP;Nom;Ville;\xC2ge;Temp\xE9rature;"));
  ASSERT_TRUE(absl::StrContains(bytes, "P001;Zo\xEB M\xFCller;Z\xFCrich;67;38,2;88,4;F\r\n"));
  ASSERT_TRUE(absl::StrContains(bytes, "\"Saint-\xC9tienne; Loire\";45,5;36,9"));
  const std::string path = t.dir() + "/export.csv";
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  const ColumnMapping m = Mapping();
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsv(t.store(), TestPseudonymizer(), path, {.mapping = &m});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->patients_imported, 5);
  EXPECT_EQ(r->dialect.separator, ';');
  EXPECT_EQ(r->dialect.decimal, ',');
  EXPECT_EQ(r->dialect.encoding, CsvEncoding::kLatin1);
  EXPECT_EQ(r->dropped_columns, (std::vector<std::string>{"Nom", "Ville"}));
  EXPECT_EQ(r->variables, (std::vector<std::string>{"age", "temperature", "creatinine", "sex"}));
  ASSERT_EQ(r->notes.size(), 3u);
  EXPECT_EQ(r->notes[0], "separator ';' (detected from the header)");
  EXPECT_TRUE(absl::StartsWith(r->notes[1],
                               "read as Latin-1 (ISO-8859-1), converted to UTF-8: "
                               "the file is not valid UTF-8 (first at line 1)"));
  EXPECT_EQ(r->notes[2],
            "decimal separator ',' (detected: 3 numeric columns with decimal commas, none with "
            "'.')");
  ExpectKnownValues(t.store());
  ExpectNoIdentifiers(*r, t);
}

TEST(ImportDialectTest, DeclaredDialectsGiveTheSameValues) {
  struct Case {
    Dialect dialect;
    std::string csv_keys;  // "" = detect everything
    std::vector<std::string> notes;
  };
  const std::vector<Case> cases = {
      {{';', ',', CsvEncoding::kLatin1, false, "\r\n"},
       R"({"separator": ";", "decimal": ",", "encoding": "latin1"})",
       {"read as Latin-1 (ISO-8859-1) (declared), converted to UTF-8"}},
      {{'\t', ',', CsvEncoding::kUtf8, true, "\n"},
       "",  // Excel's UTF-8 text with a BOM
       {"separator tab (detected from the header)",
        "decimal separator ',' (detected: 3 numeric columns with decimal commas, none with '.')"}},
      {{'\t', '.', CsvEncoding::kUtf8, true, "\n"}, R"({"separator": "tab", "decimal": "."})", {}},
      {{';', ',', CsvEncoding::kWindows1252, false, "\r\n"},
       R"({"encoding": "windows-1252"})",
       {"separator ';' (detected from the header)",
        "read as Windows-1252 (declared), converted to UTF-8",
        "decimal separator ',' (detected: 3 numeric columns with decimal commas, none with '.')"}},
      {{';', ',', CsvEncoding::kWindows1252, false, "\r\n"},
       R"({"decimal": ","})",
       {"separator ';' (detected from the header)",
        "read as Windows-1252, converted to UTF-8: the file is not valid UTF-8 (first at line 1); "
        "if that is wrong, declare \"encoding\" in the column mapping's \"csv\" object"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    TempStore t(absl::StrCat("dialect_declared_", i));
    const ColumnMapping m = Mapping(cases[i].csv_keys);
    absl::StatusOr<ClinicalImportReport> r = ImportClinicalCsvText(
        t.store(), TestPseudonymizer(), "export.csv", Export(cases[i].dialect), {.mapping = &m});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->dialect.separator, cases[i].dialect.separator);
    EXPECT_EQ(r->dialect.decimal, cases[i].dialect.decimal);
    EXPECT_EQ(r->dialect.encoding, cases[i].dialect.encoding);
    EXPECT_EQ(r->notes, cases[i].notes);
    ExpectKnownValues(t.store());
    ExpectNoIdentifiers(*r, t);
  }
}

TEST(ImportDialectTest, DictionaryColumnsNeedNoMapping) {
  TempStore t("dialect_no_mapping");
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "adm.csv",
                            "patient_id;age;temperature;name\r\nP1;70;38,2;Ren\xE9\r\n"
                            "P2;58,5;NA;Zo\xEB\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dialect.decimal, ',');
  EXPECT_EQ(r->dialect.encoding, CsvEncoding::kLatin1);
  EXPECT_EQ(Values(t.store(), "P1"),
            (std::map<std::string, double>{{"age", 70}, {"temperature", 38.2}}));
  EXPECT_EQ(Values(t.store(), "P2"), (std::map<std::string, double>{{"age", 58.5}}));
}

}  // namespace
}  // namespace scancov::node
