// One test per malformed input: each error names file:line:column and the column, and never
// the patient identifier, name or birth date.
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/testing_util.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

class ImportErrorsTest : public ::testing::Test {
 protected:
  ImportErrorsTest() : store_("errors") {
    sites::SiteProfile p = *sites::NamedSiteProfile("kb");
    p.patients = 30;
    site_ = sites::GenerateSite(p, 5);
  }

  // 1-based CSV column of a variable in AdmissionCsv(site_) (with identifier columns).
  static int Col(const char* name) { return sites::AdmissionIndex(name) + 4; }
  // Line of patient i.
  static int Line(int i) { return i + 2; }

  absl::Status Import(const std::string& csv) {
    absl::StatusOr<ClinicalImportReport> r =
        ImportClinicalCsvText(store_.store(), TestPseudonymizer(), "site.csv", csv);
    if (r.ok()) return absl::OkStatus();
    const std::string message(r.status().message());
    for (const auto& p : site_.patients) {
      if (p.patient_id.empty()) continue;
      EXPECT_FALSE(absl::StrContains(message, p.patient_id)) << message;
      EXPECT_FALSE(absl::StrContains(message, p.name)) << message;
      EXPECT_FALSE(absl::StrContains(message, p.birth_date)) << message;
    }
    EXPECT_EQ(*CountClinicalPatients(store_.store()), 0);
    return r.status();
  }

  std::string Csv() const { return sites::AdmissionCsv(site_); }

  TempStore store_;
  sites::SyntheticSite site_;
};

TEST_F(ImportErrorsTest, UnknownColumn) {
  std::vector<std::string> lines = absl::StrSplit(Csv(), '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].empty()) lines[i] += i == 0 ? ",favourite_colour" : ",blue";
  }
  const absl::Status s = Import(absl::StrJoin(lines, "\n"));
  const int col = static_cast<int>(sites::AllVariables().size()) + 4;
  EXPECT_TRUE(absl::StrContains(
      s.message(), absl::StrCat("site.csv:1:", col, " (favourite_colour): unknown column")))
      << s;
}

TEST_F(ImportErrorsTest, WrongUnitsUreaInMgPerDl) {
  for (auto& p : site_.patients) p.observed[sites::AdmissionIndex("urea")] *= 6.006;
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(s.message(),
                                absl::StrCat("site.csv:1:", Col("urea"), " (urea): wrong units")))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "mg/dL")) << s;
}

TEST_F(ImportErrorsTest, WrongUnitsUreaDeclaredInTheHeader) {
  // Canonical unit suffixes are fine.
  EXPECT_TRUE(Import(sites::AdmissionCsv(site_, {.unit_suffixed_headers = true})).ok());
  TempStore other("errors_header");
  std::string csv = Csv();
  csv.replace(csv.find(",urea,"), 6, ",urea_mg_dL,");
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(other.store(), TestPseudonymizer(), "site.csv", csv);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                absl::StrCat("site.csv:1:", Col("urea"),
                                             " (urea_mg_dL): wrong units: urea given in mg/dL, "
                                             "expected mmol/L")))
      << r.status();
}

TEST_F(ImportErrorsTest, WrongUnitsPlateletsPerMicrolitre) {
  for (auto& p : site_.patients) p.observed[sites::AdmissionIndex("platelets")] *= 1000;
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(
      s.message(), absl::StrCat("site.csv:1:", Col("platelets"), " (platelets): wrong units")))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "/uL")) << s;
}

TEST_F(ImportErrorsTest, WrongUnitsTemperatureInFahrenheit) {
  for (auto& p : site_.patients) {
    double& t = p.observed[sites::AdmissionIndex("temperature")];
    t = std::round((t * 9 / 5 + 32) * 10) / 10;
  }
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(s.message(), "(temperature): wrong units")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "degF")) << s;
}

TEST_F(ImportErrorsTest, OutOfRangeSpo2) {
  site_.patients[4].observed[sites::AdmissionIndex("spo2")] = 150;
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(
      s.message(), absl::StrCat("site.csv:", Line(4), ":", Col("spo2"),
                                " (spo2): value outside the plausible range [50, 100] %")))
      << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "150")) << s;
}

TEST_F(ImportErrorsTest, MalformedRowWithTooFewFields) {
  std::vector<std::string> lines = absl::StrSplit(Csv(), '\n');
  lines[3] = lines[3].substr(0, lines[3].rfind(','));  // patient 2 loses its last field
  const absl::Status s = Import(absl::StrJoin(lines, "\n"));
  const int fields = static_cast<int>(sites::AllVariables().size()) + 3;
  EXPECT_TRUE(absl::StrContains(
      s.message(), absl::StrCat("site.csv:4:", fields, " (event): malformed row: ", fields - 1,
                                " fields, the header has ", fields)))
      << s;
}

TEST_F(ImportErrorsTest, NonNumericValue) {
  site_.patients[0].observed[sites::AdmissionIndex("crp")] = 987654.5;  // placeholder
  std::string csv = Csv();
  csv.replace(csv.find("987654.5"), 8, "high");
  const absl::Status s = Import(csv);
  EXPECT_TRUE(absl::StrContains(s.message(),
                                absl::StrCat("site.csv:2:", Col("crp"), " (crp): not a number")))
      << s;
}

TEST_F(ImportErrorsTest, InvalidCodeForABinaryVariable) {
  site_.patients[1].observed[sites::AdmissionIndex("hypertension")] = 0.5;
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat("site.csv:3:", Col("hypertension"),
                                                          " (hypertension): not an allowed value")))
      << s;
}

TEST_F(ImportErrorsTest, DuplicatePatientRows) {
  std::vector<std::string> lines = absl::StrSplit(Csv(), '\n');
  lines.insert(lines.begin() + 10, lines[2]);  // patient 1 again, at line 11
  const absl::Status s = Import(absl::StrJoin(lines, "\n"));
  EXPECT_TRUE(absl::StrContains(
      s.message(), "site.csv:11:1 (patient_id): duplicate patient: same identifier as line 3"))
      << s;
}

TEST_F(ImportErrorsTest, MissingIdentifierColumnAndEmptyIdentifier) {
  std::string csv = Csv();
  csv.replace(0, 10, "patient_no");
  EXPECT_TRUE(absl::StrContains(Import(csv).message(), "no patient identifier column"));
  site_.patients[2].patient_id = "";
  const absl::Status s = Import(Csv());
  EXPECT_TRUE(absl::StrContains(s.message(), "site.csv:4:1 (patient_id): empty patient identifier"))
      << s;
}

TEST_F(ImportErrorsTest, HeaderlessFileDoesNotEchoTheFirstRow) {
  std::string csv = Csv();
  csv.erase(0, csv.find('\n') + 1);  // drop the header: patient 0 becomes the "header"
  const absl::Status s = Import(csv);
  EXPECT_TRUE(absl::StrContains(s.message(), "site.csv:1: the header names no known column")) << s;
}

TEST_F(ImportErrorsTest, UnterminatedQuote) {
  const absl::Status s = Import("patient_id,age\nP1,\"70\nP2,50\n");
  EXPECT_TRUE(absl::StrContains(s.message(), "site.csv: line 2: unterminated quoted field")) << s;
}

}  // namespace
}  // namespace scancov::node
