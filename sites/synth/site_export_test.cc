// scancov-synth-site's export: the tables, one CT folder per requested patient, nothing else.
#include "sites/synth/site_export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "sites/cohort/cohort_generator.h"

namespace scancov::sites {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  fs::remove_all(dir);
  return dir;
}

TEST(SiteExport, TablesAndACtFolderPerRequestedPatient) {
  const std::string out = FreshDir("site_export");
  SiteExportOptions options;
  options.site = "igr";
  options.seed = 5;
  options.patients = 30;
  options.ct_patients = 2;
  absl::StatusOr<SiteExportSummary> summary = WriteSiteExport(options, out);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->patients, 30);
  EXPECT_EQ(summary->ct_series, 2);
  EXPECT_TRUE(fs::exists(out + "/admission.csv"));
  EXPECT_TRUE(fs::exists(out + "/ground_truth.json"));
  // The CT folders are named by the first patients' (fake) ids, in the cohort's order.
  absl::StatusOr<SiteProfile> profile = SiteProfileFor("igr", 30, 0.0);
  ASSERT_TRUE(profile.ok());
  const SyntheticSite site = GenerateSite(*profile, 5);
  std::set<std::string> expected, found;
  for (int i = 0; i < 2; ++i) expected.insert(site.patients[i].patient_id);
  for (const fs::directory_entry& e : fs::directory_iterator(out + "/ct")) {
    found.insert(e.path().filename().string());
    for (const char* f : {"lungs.nii.gz", "lesions.nii.gz", "truth.json"}) {
      EXPECT_TRUE(fs::exists(e.path() / f)) << e.path() << " " << f;
    }
    EXPECT_FALSE(fs::is_empty(e.path() / "dicom"));
  }
  EXPECT_EQ(found, expected);
}

TEST(SiteExport, NoCtOrAnUnknownScale) {
  SiteExportOptions options;
  options.patients = 20;
  options.ct = "none";
  const std::string none = FreshDir("site_export_none");
  absl::StatusOr<SiteExportSummary> summary = WriteSiteExport(options, none);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->ct_series, 0);
  EXPECT_TRUE(fs::exists(none + "/admission.csv"));
  EXPECT_FALSE(fs::exists(none + "/ct"));
  options.ct = "huge";
  const absl::Status bad = WriteSiteExport(options, FreshDir("site_export_bad")).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "--ct must be small, full or none");
}

}  // namespace
}  // namespace scancov::sites
