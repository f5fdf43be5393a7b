// scancov-synth-cohort's files: the same cohort as the generator, written with the options.
#include "sites/cohort/cohort_export.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "core/file_util.h"
#include "sites/cohort/cohort_generator.h"

namespace scancov::sites {
namespace {

TEST(CohortExport, WritesTheGeneratedCohortWithTheChosenColumns) {
  const std::string out = ::testing::TempDir() + "/cohort_export";
  std::filesystem::remove_all(out);
  CohortExportOptions options;
  options.site = "site3";
  options.seed = 9;
  options.patients = 60;
  options.case_mix = 0.5;
  options.csv.include_identifiers = false;
  absl::StatusOr<CohortExportSummary> summary = WriteCohortExport(options, out);
  ASSERT_TRUE(summary.ok()) << summary.status();
  absl::StatusOr<SiteProfile> profile = SiteProfileFor("site3", 60, 0.5);
  ASSERT_TRUE(profile.ok());
  const SyntheticSite site = GenerateSite(*profile, 9);
  int severe = 0;
  for (const SyntheticPatient& p : site.patients) severe += p.outcomes.severe;
  EXPECT_EQ(summary->site, profile->name);
  EXPECT_EQ(summary->patients, 60);
  EXPECT_EQ(summary->severe, severe);
  EXPECT_EQ(summary->csv_path, out + "/admission.csv");
  absl::StatusOr<std::string> csv = ReadFileToString(summary->csv_path);
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(*csv, AdmissionCsv(site, options.csv));
  EXPECT_FALSE(absl::StrContains(csv->substr(0, csv->find('\n')), "birth_date"));
  EXPECT_TRUE(ReadFileToString(summary->truth_path).ok());
}

TEST(CohortExport, AGenericSiteNeedsItsSize) {
  CohortExportOptions options;
  options.site = "site4";  // not kb or igr: no default size
  const absl::Status s = WriteCohortExport(options, ::testing::TempDir() + "/cohort_none").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

}  // namespace
}  // namespace scancov::sites
