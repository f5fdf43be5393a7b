// Every real sample file in ../shared/data gets a sensible outcome (tests run from the
// repository root; see docs/architecture.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "node/imaging/test_util.h"

namespace scancov::node {
namespace {

using testing::FindSeries;
using testing::RunImport;

const std::string kData = "../shared/data/";

bool HaveData(const std::string& sub) { return std::filesystem::exists(kData + sub); }

TEST(DicomRealSamples, LungmaskSlicesWithoutModalityAreImported) {
  if (!HaveData("lungmask_ct_slices")) GTEST_SKIP() << "no shared data";
  const testing::ImportResult r = RunImport(kData + "lungmask_ct_slices");
  ASSERT_EQ(r.series.size(), 1u) << r.report.ToText();
  const HuVolume& v = r.series[0].volume;
  EXPECT_EQ(v.nx, 512);
  EXPECT_EQ(v.ny, 512);
  EXPECT_EQ(v.nz, 2);
  EXPECT_DOUBLE_EQ(v.spacing[0], 0.625);
  EXPECT_DOUBLE_EQ(v.spacing[2], 1.0);
  const auto [lo, hi] = std::minmax_element(v.voxels.begin(), v.voxels.end());
  EXPECT_EQ(*lo, -2048);  // the README's range
  EXPECT_EQ(*hi, 1502);
  EXPECT_NE(FindSeries(r.report, "Modality missing"), nullptr) << r.report.ToText();
  EXPECT_NE(FindSeries(r.report, "PatientID missing"), nullptr);
  // The licence file is listed as not DICOM.
  ASSERT_EQ(r.report.skipped_files.size(), 1u);
  EXPECT_EQ(r.report.skipped_files[0].reason, "not a DICOM file");
}

TEST(DicomRealSamples, AnkleWithoutPixelSpacingIsRefused) {
  if (!HaveData("debian_dicom_samples")) GTEST_SKIP() << "no shared data";
  const std::string dir = testing::FreshDir("ankle");
  std::filesystem::copy_file(kData + "debian_dicom_samples/octave-dicom_CT-MONO2-16-ankle.dcm",
                             dir + "/ankle.dcm");
  const testing::ImportResult r = RunImport(dir);
  ASSERT_EQ(r.report.series.size(), 1u);
  const SeriesReport& s = r.report.series[0];
  EXPECT_EQ(s.status, SeriesStatus::kRefused);
  EXPECT_EQ(s.reason, "file ankle.dcm: PixelSpacing missing");
}

TEST(DicomRealSamples, PydicomSmallCtIsASingleSliceVolume) {
  if (!HaveData("debian_dicom_samples")) GTEST_SKIP() << "no shared data";
  const std::string dir = testing::FreshDir("pydicom_small");
  std::filesystem::copy_file(kData + "debian_dicom_samples/pydicom_CT_small.dcm", dir + "/a.dcm");
  const testing::ImportResult r = RunImport(dir);
  ASSERT_EQ(r.series.size(), 1u) << r.report.ToText();
  EXPECT_EQ(r.series[0].volume.nz, 1);
  EXPECT_EQ(r.series[0].volume.nx, 128);
  EXPECT_DOUBLE_EQ(r.series[0].volume.spacing[2], 5.0);  // from SliceThickness
  EXPECT_NE(FindSeries(r.report, "single slice"), nullptr);
}

TEST(DicomRealSamples, Jpeg2000SeriesIsRefusedByName) {
  if (!HaveData("totalsegmentator_ct/example_ct_dicom")) GTEST_SKIP() << "no shared data";
  const testing::ImportResult r = RunImport(kData + "totalsegmentator_ct/example_ct_dicom");
  ASSERT_EQ(r.report.series.size(), 1u) << r.report.ToText();
  const SeriesReport& s = r.report.series[0];
  EXPECT_EQ(s.status, SeriesStatus::kRefused);
  EXPECT_EQ(s.files, 20);
  EXPECT_TRUE(absl::StrContains(s.reason, "JPEG 2000")) << s.reason;
  EXPECT_TRUE(absl::StrContains(s.reason, "1.2.840.10008.1.2.4.90")) << s.reason;
  EXPECT_TRUE(r.series.empty());
}

TEST(DicomRealSamples, WholeSharedFolderImportsWhatItCan) {
  if (!HaveData("")) GTEST_SKIP() << "no shared data";
  const testing::ImportResult r = RunImport(kData);
  std::cout << r.report.ToText();  // the steward's view, kept in the test log
  // lungmask (2 slices) and pydicom_CT_small; ankle and JPEG 2000 refused.
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2) << r.report.ToText();
  EXPECT_EQ(r.report.Count(SeriesStatus::kRefused), 2) << r.report.ToText();
}

}  // namespace
}  // namespace scancov::node
