#include "node/clinical/clinical_import.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/testing_util.h"
#include "sites/cohort/cohort_generator.h"
#include "sites/cohort/cohort_io.h"
#include "sites/cohort/variables.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

sites::SyntheticSite Site(const char* name, int patients) {
  sites::SiteProfile p = *sites::NamedSiteProfile(name);
  p.patients = patients;
  return sites::GenerateSite(p, 11);
}

// Every stored value equals the generated one; missing values are absent.
void ExpectStoreMatches(NodeStore& store, const sites::SyntheticSite& site) {
  const privacy::Pseudonymizer pz = TestPseudonymizer();
  for (const auto& p : site.patients) {
    absl::StatusOr<std::map<std::string, double>> stored =
        LoadPatientValues(store, pz.Pseudonym(p.patient_id));
    ASSERT_TRUE(stored.ok()) << stored.status();
    for (const sites::VariableSpec& spec : sites::AllVariables()) {
      const double v = p.Value(spec.name);
      auto it = stored->find(spec.name);
      if (std::isnan(v)) {
        EXPECT_EQ(it, stored->end()) << spec.name;
      } else {
        ASSERT_NE(it, stored->end()) << spec.name;
        EXPECT_EQ(it->second, v) << spec.name;
      }
    }
  }
}

TEST(ClinicalImportTest, RoundTripOfAGeneratedSite) {
  TempStore t("round_trip");
  const sites::SyntheticSite site = Site("kb", 800);
  const std::string path = t.dir() + "/admission.csv";
  ASSERT_TRUE(sites::WriteAdmissionCsv(site, path).ok());
  absl::StatusOr<ClinicalImportReport> r = ImportClinicalCsv(t.store(), TestPseudonymizer(), path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_read, 800);
  EXPECT_EQ(r->patients_imported, 800);
  EXPECT_EQ(r->rows_skipped, 0);
  EXPECT_EQ(r->dropped_columns, (std::vector<std::string>{"name", "birth_date"}));
  EXPECT_EQ(r->variables.size(), sites::AllVariables().size());
  EXPECT_EQ(*CountClinicalPatients(t.store()), 800);
  ExpectStoreMatches(t.store(), site);
}

TEST(ClinicalImportTest, UnitSuffixedHeadersRoundTrip) {
  TempStore t("suffixed");
  const sites::SyntheticSite site = Site("igr", 140);
  const std::string csv = sites::AdmissionCsv(site, {.unit_suffixed_headers = true});
  ASSERT_TRUE(absl::StrContains(csv, "urea_mmol_L"));
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "igr.csv", csv);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectStoreMatches(t.store(), site);
}

TEST(ClinicalImportTest, DatabaseNeverContainsDirectIdentifiers) {
  TempStore t("no_identifiers");
  const sites::SyntheticSite site = Site("kb", 200);
  ASSERT_TRUE(
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "kb.csv", sites::AdmissionCsv(site))
          .ok());
  t.Close();
  absl::StatusOr<std::string> bytes = ReadFileToString(t.path());
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 10000u);
  EXPECT_FALSE(absl::StrContains(*bytes, "KB-0"));
  for (const auto& p : site.patients) {
    EXPECT_FALSE(absl::StrContains(*bytes, p.patient_id));
    EXPECT_FALSE(absl::StrContains(*bytes, p.name.substr(0, p.name.find(','))));
    EXPECT_FALSE(absl::StrContains(*bytes, p.birth_date));
  }
}

// The import reports rows parsed and patients written of their totals, on the injected clock,
// with counts only: no patient identifier, name or birth date, no file name.
TEST(ClinicalImportTest, ProgressLinesCountRowsAndPatientsAndNameNobody) {
  TempStore t("progress");
  const sites::SyntheticSite site = Site("kb", 300);
  const std::string path = t.dir() + "/KB-000001_admissions.csv";
  ASSERT_TRUE(sites::WriteAdmissionCsv(site, path).ok());
  FakeClock clock;
  Progress progress(&clock);
  std::vector<std::string> lines;
  progress.PrintEvery(absl::Seconds(5), [&](const std::string& l) { lines.push_back(l); });
  ClinicalImportOptions options;
  options.progress = &progress;
  options.clock = &clock;
  clock.Advance(absl::Seconds(6));  // as if reading the file took that long
  ASSERT_TRUE(ImportClinicalCsv(t.store(), TestPseudonymizer(), path, options).ok());
  progress.Finish();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "clinical import: row 0/300");
  EXPECT_EQ(lines[1], "clinical import: row 300/300");
  EXPECT_EQ(lines.back(), "clinical import: writing, patient 300/300");
  for (const std::string& line : lines) {
    EXPECT_FALSE(absl::StrContains(line, "KB-0")) << line;
    EXPECT_FALSE(absl::StrContains(line, "admissions")) << line;
    for (const auto& p : site.patients) {
      EXPECT_FALSE(absl::StrContains(line, p.name.substr(0, p.name.find(',')))) << line;
      EXPECT_FALSE(absl::StrContains(line, p.birth_date)) << line;
    }
  }
}

TEST(ClinicalImportTest, ReimportIsIdempotent) {
  TempStore t("idempotent");
  const sites::SyntheticSite site = Site("igr", 60);
  const std::string csv = sites::AdmissionCsv(site);
  ASSERT_TRUE(ImportClinicalCsvText(t.store(), TestPseudonymizer(), "a.csv", csv).ok());
  const int64_t values =
      t.store().db().execAndGet("SELECT COUNT(*) FROM clinical_value").getInt64();
  ASSERT_TRUE(ImportClinicalCsvText(t.store(), TestPseudonymizer(), "a.csv", csv).ok());
  EXPECT_EQ(*CountClinicalPatients(t.store()), 60);
  EXPECT_EQ(t.store().db().execAndGet("SELECT COUNT(*) FROM clinical_value").getInt64(), values);
  EXPECT_EQ(t.store().db().execAndGet("SELECT COUNT(*) FROM clinical_import").getInt64(), 2);
  ExpectStoreMatches(t.store(), site);
}

TEST(ClinicalImportTest, AllOrNothingLeavesTheStoreUnchanged) {
  TempStore t("all_or_nothing");
  const sites::SyntheticSite first = Site("igr", 40);
  ASSERT_TRUE(
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "a.csv", sites::AdmissionCsv(first))
          .ok());
  sites::SyntheticSite changed = Site("igr", 50);  // same 40 patients and 10 more
  for (auto& p : changed.patients) p.observed[sites::AdmissionIndex("crp")] = 123.4;
  changed.patients[45].observed[sites::AdmissionIndex("spo2")] = 150;
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "b.csv", sites::AdmissionCsv(changed));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "nothing imported"));
  EXPECT_EQ(*CountClinicalPatients(t.store()), 40);
  EXPECT_EQ(t.store().db().execAndGet("SELECT COUNT(*) FROM clinical_import").getInt64(), 1);
  ExpectStoreMatches(t.store(), first);
}

TEST(ClinicalImportTest, SkipBadRowsImportsTheRest) {
  TempStore t("skip_bad_rows");
  sites::SyntheticSite site = Site("igr", 50);
  site.patients[3].observed[sites::AdmissionIndex("spo2")] = 150;
  site.patients[7].observed[sites::AdmissionIndex("sex")] = 3;
  ClinicalImportOptions options;
  options.skip_bad_rows = true;
  absl::StatusOr<ClinicalImportReport> r = ImportClinicalCsvText(
      t.store(), TestPseudonymizer(), "b.csv", sites::AdmissionCsv(site), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_read, 50);
  EXPECT_EQ(r->rows_skipped, 2);
  EXPECT_EQ(r->patients_imported, 48);
  ASSERT_EQ(r->row_errors.size(), 2u);
  EXPECT_TRUE(absl::StrContains(r->row_errors[0], "b.csv:5:")) << r->row_errors[0];
  EXPECT_TRUE(absl::StrContains(r->row_errors[1], "b.csv:9:")) << r->row_errors[1];
  EXPECT_EQ(*CountClinicalPatients(t.store()), 48);
  const privacy::Pseudonymizer pz = TestPseudonymizer();
  EXPECT_TRUE(LoadPatientValues(t.store(), pz.Pseudonym(site.patients[3].patient_id))->empty());
  EXPECT_FALSE(LoadPatientValues(t.store(), pz.Pseudonym(site.patients[4].patient_id))->empty());
}

TEST(ClinicalImportTest, CsvQuirksBomCrlfQuotesAndMissingTokens) {
  TempStore t("quirks");
  const std::string csv =
      "\xEF\xBB\xBFpatient_id,name,age,sex,spo2,crp,ldh\r\n"
      "P1,\"DOE, \"\"Jo\"\"\",70,1,NA,12.5,NaN\r\n"
      "\"P2\",\"line\r\nbreak\",55,0,,n/a,300\r\n";
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsvText(t.store(), TestPseudonymizer(), "q.csv", csv);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->patients_imported, 2);
  const privacy::Pseudonymizer pz = TestPseudonymizer();
  const auto p1 = *LoadPatientValues(t.store(), pz.Pseudonym("P1"));
  const auto p2 = *LoadPatientValues(t.store(), pz.Pseudonym("P2"));
  EXPECT_EQ(p1, (std::map<std::string, double>{{"age", 70}, {"sex", 1}, {"crp", 12.5}}));
  EXPECT_EQ(p2, (std::map<std::string, double>{{"age", 55}, {"sex", 0}, {"ldh", 300}}));
}

}  // namespace
}  // namespace scancov::node
