// Every real sample file in ../shared/data gets a sensible outcome (tests run from the
// repository root; see docs/architecture.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>

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

// 64-bit FNV-1a over the HU as little-endian int16, slice after slice, row after row.
uint64_t Fnv1a(const std::vector<int16_t>& hu) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int16_t v : hu) {
    const uint16_t u = static_cast<uint16_t>(v);
    for (uint8_t byte : {static_cast<uint8_t>(u & 0xFF), static_cast<uint8_t>(u >> 8)}) {
      h = (h ^ byte) * 0x100000001b3ull;
    }
  }
  return h;
}

// JPEG 2000 lossless (1.2.840.10008.1.2.4.90), 12 bits stored, unsigned, intercept -1024.
// Reference, independent of the node's DICOM and JPEG 2000 code, printed once by
//   scripts/j2k_reference_hu.py ../shared/data/totalsegmentator_ct/example_ct_dicom
// (a hand walk of each file's dataset for its fragments and rescale, the codestream decoded by
// `opj_decompress` of Debian's libopenjp2-tools 2.5.0, slices sorted by ImagePositionPatient z);
// the test needs neither the script nor the tool.
TEST(DicomRealSamples, Jpeg2000LosslessSeriesImportsExactly) {
  if (!HaveData("totalsegmentator_ct/example_ct_dicom")) GTEST_SKIP() << "no shared data";
  const testing::ImportResult r = RunImport(kData + "totalsegmentator_ct/example_ct_dicom");
  ASSERT_EQ(r.report.series.size(), 1u) << r.report.ToText();
  EXPECT_EQ(r.report.series[0].status, SeriesStatus::kImported) << r.report.ToText();
  EXPECT_EQ(r.report.series[0].files, 20);
  ASSERT_EQ(r.series.size(), 1u);
  const HuVolume& v = r.series[0].volume;
  ASSERT_EQ(v.nx, 512);
  ASSERT_EQ(v.ny, 512);
  ASSERT_EQ(v.nz, 20);
  EXPECT_DOUBLE_EQ(v.origin[2], -804.5);
  EXPECT_NEAR(v.spacing[2], 2.0, 1e-9);
  const int64_t kSliceSums[20] = {-164982396, -164854799, -164640895, -164345358, -164079062,
                                  -163912328, -163773484, -163641804, -163503234, -163367558,
                                  -163285612, -163247165, -163175574, -163070809, -163020770,
                                  -163053823, -163094955, -163068677, -163019926, -163079110};
  const size_t plane = 512 * 512;
  for (int z = 0; z < 20; ++z) {
    const int64_t sum = std::accumulate(v.voxels.begin() + z * plane,
                                        v.voxels.begin() + (z + 1) * plane, int64_t{0});
    EXPECT_EQ(sum, kSliceSums[z]) << "slice " << z;
  }
  const auto [lo, hi] = std::minmax_element(v.voxels.begin(), v.voxels.end());
  EXPECT_EQ(*lo, -1024);
  EXPECT_EQ(*hi, 1839);
  EXPECT_EQ(v.voxels[256 * 512 + 256], 86);                // first slice, x 256, y 256
  EXPECT_EQ(v.voxels[19 * plane + 300 * 512 + 100], -82);  // last slice, x 100, y 300
  EXPECT_EQ(Fnv1a(v.voxels), 0x7a2aabd19f492ce3ull);       // every voxel, to the last HU
}

TEST(DicomRealSamples, WholeSharedFolderImportsWhatItCan) {
  if (!HaveData("")) GTEST_SKIP() << "no shared data";
  const testing::ImportResult r = RunImport(kData);
  std::cout << r.report.ToText();  // the steward's view, kept in the test log
  // lungmask (2 slices), pydicom_CT_small and the JPEG 2000 series; the ankle refused.
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 3) << r.report.ToText();
  EXPECT_EQ(r.report.Count(SeriesStatus::kRefused), 1) << r.report.ToText();
}

}  // namespace
}  // namespace scancov::node
