// Import of a real public cohort (Yan et al. 2020, Tongji Hospital; ../shared/data/yan2020,
// MIT licence) through a column mapping: PATIENT_ID only on each patient's first row (filled
// forward), many rows per patient, foreign column names and units, and real data errors
// (haemoglobin charted in g/dL among g/L values, platelet counts of -1).
#include <cmath>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/clinical_store.h"
#include "node/clinical/column_mapping.h"
#include "node/clinical/testing_util.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

constexpr char kTrain[] = "../shared/data/yan2020/time_series_375_prerpocess_en.csv";
constexpr char kMapping[] = "node/clinical/testdata/yan2020_mapping.json";

class Yan2020Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTrain)) GTEST_SKIP() << kTrain << " not present";
    absl::StatusOr<ColumnMapping> m = LoadColumnMapping(kMapping);
    ASSERT_TRUE(m.ok()) << m.status();
    mapping_ = *m;
  }
  ColumnMapping mapping_;
};

TEST_F(Yan2020Test, AllOrNothingRefusesTheRealDataErrors) {
  TempStore t("yan_strict");
  ClinicalImportOptions options;
  options.mapping = &mapping_;
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsv(t.store(), TestPseudonymizer(), kTrain, options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "26 error(s)")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "time_series_375_prerpocess_en.csv:108:"))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "(hemoglobin): value outside"));
  EXPECT_TRUE(absl::StrContains(r.status().message(), "looks like g/dL"));
  EXPECT_EQ(*CountClinicalPatients(t.store()), 0);
}

TEST_F(Yan2020Test, FirstValuePerPatientSkippingBadRows) {
  TempStore t("yan_first_value");
  ClinicalImportOptions options;
  options.mapping = &mapping_;
  options.skip_bad_rows = true;
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsv(t.store(), TestPseudonymizer(), kTrain, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_read, 6120);
  EXPECT_EQ(r->rows_skipped, 26);
  EXPECT_EQ(r->patients_imported, 375);
  absl::StatusOr<ClinicalDataset> d =
      LoadClinicalDataset(t.store(), {"age", "sex", "ldh", "crp", "lymphocyte_percent"}, "death");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->rows(), 375u);
  double deaths = 0, males = 0;
  for (size_t i = 0; i < d->rows(); ++i) {
    deaths += d->outcome_values[i];
    males += d->at(i, 1);
  }
  EXPECT_EQ(deaths, 174);  // 201 survived, 174 died
  EXPECT_GT(males, 187);   // gender 1 = male, mapped to sex 1
  EXPECT_EQ(d->present_counts[0], 375);
  EXPECT_GE(d->present_counts[2], 350);  // LDH: first value over the stay
  // The ddimer column was declared in ug/mL and converted to ug/L.
  absl::StatusOr<ClinicalDataset> dd = LoadClinicalDataset(t.store(), {"ddimer"}, "");
  ASSERT_TRUE(dd.ok());
  double max_ddimer = 0;
  for (size_t i = 0; i < dd->rows(); ++i) {
    if (!dd->is_missing(i, 0)) max_ddimer = std::max<double>(max_ddimer, dd->at(i, 0));
  }
  EXPECT_NEAR(max_ddimer, 60000, 1);
}

TEST_F(Yan2020Test, FirstRowPerPatient) {
  TempStore t("yan_first_row");
  mapping_.rows_per_patient = RowsPerPatient::kFirstRow;
  ClinicalImportOptions options;
  options.mapping = &mapping_;
  options.skip_bad_rows = true;
  absl::StatusOr<ClinicalImportReport> r =
      ImportClinicalCsv(t.store(), TestPseudonymizer(), kTrain, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->patients_imported, 375);
  absl::StatusOr<ClinicalDataset> d = LoadClinicalDataset(t.store(), {"age", "ldh"}, "death");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rows(), 375u);
  EXPECT_EQ(d->present_counts[0], 375);
  EXPECT_LT(d->present_counts[1], 375);  // a first row rarely has every laboratory value
}

}  // namespace
}  // namespace scancov::node
