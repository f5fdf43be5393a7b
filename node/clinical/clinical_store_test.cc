#include "node/clinical/clinical_store.h"

#include <cmath>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "node/clinical/clinical_import.h"
#include "node/clinical/testing_util.h"

namespace scancov::node {
namespace {

using testing_util::TempStore;
using testing_util::TestPseudonymizer;

TEST(ClinicalStoreTest, LoadsADenseMatrixWithAMissingMask) {
  TempStore t("dataset");
  const std::string csv =
      "patient_id,age,spo2,urea,severe\n"
      "P1,70,92,8.5,1\n"
      "P2,50,,4.1,0\n"
      "P3,60,97,,\n";  // no outcome: not a row of a dataset with an outcome
  ASSERT_TRUE(ImportClinicalCsvText(t.store(), TestPseudonymizer(), "a.csv", csv).ok());
  absl::StatusOr<ClinicalDataset> d = LoadClinicalDataset(t.store(), {"spo2", "age"}, "severe");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->rows(), 2u);
  ASSERT_EQ(d->cols(), 2u);
  ASSERT_EQ(d->features.size(), 4u);
  const privacy::Pseudonymizer pz = TestPseudonymizer();
  const size_t p1 = d->pseudonyms[0] == pz.Pseudonym("P1") ? 0 : 1;
  const size_t p2 = 1 - p1;
  EXPECT_EQ(d->pseudonyms[p2], pz.Pseudonym("P2"));
  EXPECT_EQ(d->at(p1, 0), 92.0f);
  EXPECT_EQ(d->at(p1, 1), 70.0f);
  EXPECT_TRUE(d->is_missing(p2, 0));
  EXPECT_TRUE(std::isnan(d->at(p2, 0)));
  EXPECT_FALSE(d->is_missing(p2, 1));
  EXPECT_EQ(d->outcome_values[p1], 1.0f);
  EXPECT_EQ(d->outcome_values[p2], 0.0f);
  EXPECT_EQ(d->present_counts, (std::vector<int64_t>{1, 2}));

  absl::StatusOr<ClinicalDataset> all = LoadClinicalDataset(t.store(), {"urea"}, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->rows(), 3u);
  EXPECT_TRUE(all->outcome_values.empty());
  EXPECT_EQ(all->present_counts, (std::vector<int64_t>{2}));

  const auto counts = ClinicalVariableCounts(t.store());
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at("age"), 3);
  EXPECT_EQ(counts->at("severe"), 2);
}

TEST(ClinicalStoreTest, UnknownVariableIsAnError) {
  TempStore t("unknown_variable");
  absl::StatusOr<ClinicalDataset> d = LoadClinicalDataset(t.store(), {"colour"}, "severe");
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::StrContains(d.status().message(), "unknown variable 'colour'"));
  EXPECT_FALSE(LoadClinicalDataset(t.store(), {"age"}, "outcome_x").ok());
}

TEST(ClinicalStoreTest, SchemaCoexistsWithOtherModulesTables) {
  TempStore t("shared_db");
  t.store().db().exec("CREATE TABLE imaging_series(id INTEGER PRIMARY KEY, uid TEXT)");
  t.Close();
  t.Open();  // creating the node's tables again leaves the others as they are
  EXPECT_TRUE(t.store().db().tableExists("imaging_series"));
  EXPECT_TRUE(t.store().db().tableExists("clinical_value"));
  EXPECT_EQ(*CountClinicalPatients(t.store()), 0);
}

}  // namespace
}  // namespace scancov::node
