#include "node/clinical/column_mapping.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/testing_util.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

constexpr char kMapping[] = R"json({
  "id_column": "MRN",
  "columns": {
    "Age (y)": "age",
    "Sexe": {"name": "sex", "values": {"M": 1, "F": 0}},
    "Uree": {"name": "urea", "unit": "g/L"},
    "Plaquettes": {"name": "platelets", "unit": "/mm3"},
    "Temp": {"name": "temperature", "unit": "degF"}
  },
  "drop": ["Service"]
})json";

TEST(ColumnMappingTest, ParsesAndValidates) {
  absl::StatusOr<ColumnMapping> m = ParseColumnMapping(kMapping, "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id_column, "MRN");
  EXPECT_EQ(m->rows_per_patient, RowsPerPatient::kOne);
  EXPECT_EQ(m->columns.at("Age (y)").name, "age");
  EXPECT_EQ(m->columns.at("Sexe").values.at("F"), 0);
  EXPECT_EQ(m->drop, std::vector<std::string>{"Service"});

  EXPECT_TRUE(absl::StrContains(
      ParseColumnMapping(R"({"columns": {"x": "colour"}})", "m.json").status().message(),
      "m.json: column 'x' maps to unknown variable 'colour'"));
  EXPECT_TRUE(absl::StrContains(
      ParseColumnMapping(R"({"columns": {"x": {"name": "urea", "unit": "stone"}}})", "m.json")
          .status()
          .message(),
      "unit 'stone' is not known for urea"));
  EXPECT_FALSE(ParseColumnMapping("{not json", "m.json").ok());
  EXPECT_FALSE(ParseColumnMapping(R"({"columns": {}, "rows_per_patient": "all"})", "m").ok());
}

TEST(ColumnMappingTest, ParsesTheCsvDialect) {
  absl::StatusOr<ColumnMapping> m = ParseColumnMapping(kMapping, "m.json");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->csv.separator, 0);  // nothing declared: detected at import
  EXPECT_EQ(m->csv.decimal, 0);
  EXPECT_EQ(m->csv.encoding, CsvEncoding::kDetect);
  m = ParseColumnMapping(
      R"({"columns": {}, "csv": {"separator": ";", "decimal": ",", "encoding": "ISO-8859-1"}})",
      "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->csv.separator, ';');
  EXPECT_EQ(m->csv.decimal, ',');
  EXPECT_EQ(m->csv.encoding, CsvEncoding::kLatin1);
  m = ParseColumnMapping(R"({"columns": {}, "csv": {"separator": "tab", "encoding": "cp1252"}})",
                         "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->csv.separator, '\t');
  EXPECT_EQ(m->csv.decimal, 0);
  EXPECT_EQ(m->csv.encoding, CsvEncoding::kWindows1252);
  m = ParseColumnMapping(R"({"columns": {}, "csv": {"separator": "\t", "decimal": "auto"}})",
                         "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->csv.separator, '\t');

  const auto error = [](const char* json) {
    return std::string(ParseColumnMapping(json, "m.json").status().message());
  };
  EXPECT_EQ(error(R"({"columns": {}, "csv": {"separator": ",", "decimal": ","}})"),
            "m.json: csv.decimal ',' cannot be read with csv.separator ','");
  EXPECT_EQ(error(R"({"columns": {}, "csv": {"separator": "|"}})"),
            "m.json: csv.separator must be \",\", \";\", \"\\t\" (or \"tab\") or \"auto\"");
  EXPECT_EQ(error(R"({"columns": {}, "csv": {"decimal": ", "}})"),
            "m.json: csv.decimal must be \".\", \",\" or \"auto\"");
  EXPECT_EQ(error(R"({"columns": {}, "csv": {"encoding": "utf-16"}})"),
            "m.json: csv.encoding must be utf-8, latin1 (iso-8859-1), windows-1252 (cp1252) or "
            "auto");
  EXPECT_EQ(error(R"({"columns": {}, "csv": {"delimiter": ";"}})"),
            "m.json: unknown key csv.delimiter (expected separator, decimal, encoding)");
  EXPECT_EQ(error(R"({"columns": {}, "csv": ";"})"), "m.json: 'csv' must be an object");
}

TEST(ColumnMappingTest, ImportConvertsDeclaredUnitsAndCodes) {
  TempStore t("mapping");
  absl::StatusOr<ColumnMapping> m = ParseColumnMapping(kMapping, "m.json");
  ASSERT_TRUE(m.ok());
  ClinicalImportOptions options;
  options.mapping = &*m;
  const std::string csv =
      "MRN,Age (y),Sexe,Uree,Plaquettes,Temp,Service,name\n"
      "A1,70,M,0.36,250000,98.6,Pneumo,FAKE NAME\n"
      "A2,40,F,,180000,NA,Pneumo,OTHER NAME\n";
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "export.csv", csv, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dropped_columns, (std::vector<std::string>{"Service", "name"}));
  const auto a1 = *LoadPatientValues(t.store(), TestPseudonymizer().Pseudonym("A1"));
  EXPECT_EQ(a1.at("sex"), 1);
  EXPECT_NEAR(a1.at("urea"), 5.994, 1e-9);
  EXPECT_NEAR(a1.at("platelets"), 250, 1e-9);
  EXPECT_NEAR(a1.at("temperature"), 37.0, 1e-9);
  const auto a2 = *LoadPatientValues(t.store(), TestPseudonymizer().Pseudonym("A2"));
  EXPECT_EQ(a2.at("sex"), 0);
  EXPECT_EQ(a2.count("urea"), 0u);

  const std::string bad_code = "MRN,Sexe\nA3,X\n";
  r = ImportClinicalCsvText(t.store(), TestPseudonymizer(), "export.csv", bad_code, options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "export.csv:2:2 (Sexe): not one of the codes declared"))
      << r.status();
}

}  // namespace
}  // namespace scancov::node
