// The import of generated phantoms reproduces their ground truth.
#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/progress.h"
#include "node/imaging/dicom_importer.h"
#include "node/imaging/test_util.h"
#include "sites/ct/nifti_io.h"

namespace scancov::node {
namespace {

using testing::FreshDir;
using testing::RunImport;
using testing::SmallSpec;
using testing::WritePhantom;

void ExpectSameGrid(const HuVolume& v, const sites::PhantomGrid& g) {
  EXPECT_EQ(v.nx, g.nx);
  EXPECT_EQ(v.ny, g.ny);
  EXPECT_EQ(v.nz, g.nz);
  EXPECT_DOUBLE_EQ(v.spacing[0], g.dx);
  EXPECT_DOUBLE_EQ(v.spacing[1], g.dy);
  EXPECT_NEAR(v.spacing[2], g.dz, 1e-6);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(v.origin[a], g.origin[a], 1e-6);
  const std::array<double, 9> identity{1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int a = 0; a < 9; ++a) EXPECT_NEAR(v.direction[a], identity[a], 1e-9);
}

TEST(DicomImport, PhantomReproducesGroundTruth) {
  const std::string dir = FreshDir("truth");
  const sites::PhantomSpec spec = SmallSpec(21, "KB-000777");
  const sites::PhantomFiles files = WritePhantom(spec, dir);
  const testing::ImportResult r = RunImport(files.dicom_dir);
  ASSERT_EQ(r.series.size(), 1u) << r.report.ToText();
  const HuVolume& v = r.series[0].volume;
  ExpectSameGrid(v, files.grid);
  EXPECT_EQ(r.series[0].patient_key, testing::TestPseudonymizer().Pseudonym("KB-000777"));

  auto expected = sites::GeneratePhantomVolume(spec);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(v.voxels, expected->hu);  // lossless, and in the right slice order

  // Lung and lesion voxel counts: label maps (as written to NIfTI) against HU intervals.
  auto lungs = sites::ReadNifti(files.lung_labels_path);
  auto lesions = sites::ReadNifti(files.lesion_labels_path);
  ASSERT_TRUE(lungs.ok() && lesions.ok());
  ASSERT_EQ(lungs->u8.size(), v.voxels.size());
  int64_t lung = 0, in_interval[5] = {}, labelled[5] = {}, hu_class[5] = {};
  auto hu_class_of = [](int hu) {
    if (hu < -780) return 1;  // aerated
    if (hu < -570) return 2;  // GGO
    if (hu < -290) return 3;  // crazy paving / semi-consolidation
    return 4;                 // consolidation (and vessels)
  };
  for (size_t i = 0; i < v.voxels.size(); ++i) {
    if (lungs->u8[i] == 0) continue;
    ++lung;
    const int label = lesions->u8[i];
    const int cls = hu_class_of(v.voxels[i]);
    ++labelled[label];
    ++hu_class[cls];
    if (cls == label) ++in_interval[label];
  }
  EXPECT_EQ(lung, files.truth.right.lung_voxels + files.truth.left.lung_voxels);
  EXPECT_EQ(labelled[2], files.truth.right.ggo_voxels + files.truth.left.ggo_voxels);
  for (int label = 2; label <= 4; ++label) {
    ASSERT_GT(labelled[label], 0);
    EXPECT_GT(static_cast<double>(in_interval[label]) / labelled[label], 0.97) << label;
  }
  // Counting lesions by HU alone over the lung mask finds the true burden within a few
  // percent of lung volume (vessels read as consolidation).
  const double true_extent = static_cast<double>(labelled[2] + labelled[3] + labelled[4]) / lung;
  const double hu_extent = static_cast<double>(hu_class[2] + hu_class[3] + hu_class[4]) / lung;
  EXPECT_NEAR(hu_extent, true_extent, 0.05);
}

TEST(DicomImport, LocalizerSkippedAndSecondSeriesImported) {
  sites::PhantomSpec spec = SmallSpec(22);
  spec.scanner.add_localizer = true;
  spec.scanner.add_second_series = true;
  const sites::PhantomFiles files = WritePhantom(spec, FreshDir("localizer"));
  const testing::ImportResult r = RunImport(files.dicom_dir);
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2) << r.report.ToText();
  EXPECT_EQ(r.report.Count(SeriesStatus::kSkipped), 1);
  const SeriesReport* loc = testing::FindSeries(r.report, "localizer");
  ASSERT_NE(loc, nullptr) << r.report.ToText();
  EXPECT_EQ(loc->status, SeriesStatus::kSkipped);
  ASSERT_EQ(r.series.size(), 2u);
  const int nz0 = r.series[0].volume.nz, nz1 = r.series[1].volume.nz;
  EXPECT_EQ(std::min(nz0, nz1), 6);
  EXPECT_EQ(std::max(nz0, nz1), 12);
  EXPECT_EQ(r.series[0].study_key, r.series[1].study_key);
  EXPECT_NE(r.series[0].series_key, r.series[1].series_key);
}

TEST(DicomImport, MixedSeriesInOneFolderAreSplit) {
  const std::string dir = FreshDir("mixed");
  sites::PhantomSpec a = SmallSpec(31, "KB-000031");
  sites::PhantomSpec b = SmallSpec(32, "IGR-000032");
  b.scanner.number_of_slices = 9;
  b.scanner.slice_thickness_mm = 3;
  WritePhantom(a, dir);  // both into dir/dicom
  WritePhantom(b, dir);
  const testing::ImportResult r = RunImport(dir + "/dicom");
  ASSERT_EQ(r.series.size(), 2u) << r.report.ToText();
  EXPECT_EQ(r.report.Count(SeriesStatus::kRefused), 0);
  std::set<std::string> patients;
  for (const CtSeries& s : r.series) {
    patients.insert(s.patient_key);
    EXPECT_EQ(s.volume.nz, s.volume.spacing[2] == 5.0 ? 12 : 9);
  }
  EXPECT_EQ(patients.size(), 2u);
}

class EncodedImportTest : public ::testing::TestWithParam<sites::DicomEncoding> {};

TEST_P(EncodedImportTest, CompressedSeriesDecodes) {
  sites::PhantomSpec spec = SmallSpec(41);
  spec.scanner.encoding = GetParam();
  const sites::PhantomFiles files = WritePhantom(spec, FreshDir("encoded"));
  const testing::ImportResult r = RunImport(files.dicom_dir);
  ASSERT_EQ(r.series.size(), 1u) << r.report.ToText();
  auto expected = sites::GeneratePhantomVolume(spec);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(r.series[0].volume.voxels, expected->hu);
}

INSTANTIATE_TEST_SUITE_P(Lossless, EncodedImportTest,
                         ::testing::Values(sites::DicomEncoding::kImplicitLittle,
                                           sites::DicomEncoding::kRle,
                                           sites::DicomEncoding::kJpegLossless,
                                           sites::DicomEncoding::kJpegLsLossless));

TEST(DicomImport, SignedPixelsAndNonUnitSlope) {
  sites::PhantomSpec spec = SmallSpec(42);
  spec.scanner.rescale_intercept = -1000;  // signed storage
  spec.scanner.rescale_slope = 2.0;
  const sites::PhantomFiles files = WritePhantom(spec, FreshDir("signed"));
  const testing::ImportResult r = RunImport(files.dicom_dir);
  ASSERT_EQ(r.series.size(), 1u) << r.report.ToText();
  auto expected = sites::GeneratePhantomVolume(spec);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(r.series[0].volume.voxels, expected->hu);
}

TEST(DicomImport, NoPatientIdentifierInAnyMessage) {
  const std::string dir = FreshDir("privacy");
  sites::PhantomSpec spec = SmallSpec(51, "MRN-SECRET-4711");
  spec.patient.patient_name = "DOE^JANE";
  const sites::PhantomFiles files = WritePhantom(spec, dir);
  sites::PhantomSpec other = SmallSpec(52, "MRN-SECRET-0815");
  other.patient.patient_name = "ROE^RICHARD";
  const sites::PhantomFiles files2 = WritePhantom(other, dir + "/second");
  // Damage both series so that their refusals are reported, and set a birth date.
  const std::vector<std::string> sorted = testing::FilesByPosition(files);
  for (const std::string& path : sorted) {
    testing::EditDicom(
        path, [](DcmDataset& ds) { ds.putAndInsertString(DCM_PatientBirthDate, "19450317"); });
  }
  testing::EditDicom(sorted[3], [](DcmDataset& ds) { ds.findAndDeleteElement(DCM_PixelSpacing); });
  std::filesystem::remove(testing::FilesByPosition(files2)[5]);
  const testing::ImportResult r = RunImport(dir);
  EXPECT_EQ(r.report.Count(SeriesStatus::kRefused), 2) << r.report.ToText();
  const std::string text = r.report.ToText() + r.report.ToJson();
  for (const std::string& secret :
       {std::string("MRN-SECRET"), std::string("DOE"), std::string("JANE"), std::string("RICHARD"),
        std::string("19450317"), files.dicom.study_uid, files.dicom.series[0].series_uid,
        files2.dicom.study_uid}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in:\n" << text;
  }
  for (const SeriesReport& s : r.report.series) {
    EXPECT_EQ(s.series_key.size(), 32u);
    EXPECT_EQ(s.patient_key.size(), 32u);
  }
}

// A PACS export takes hours: the import reports files and series done of the total, and its
// lines carry counts only, even when the folders are named after the patient.
TEST(DicomImport, ProgressLinesCountFilesAndSeriesAndNameNobody) {
  const std::string dir = FreshDir("progress") + "/DOE_JANE_MRN-SECRET-4711";
  sites::PhantomSpec spec = SmallSpec(61, "MRN-SECRET-4711");
  spec.patient.patient_name = "DOE^JANE";
  WritePhantom(spec, dir);
  int64_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    files += e.is_regular_file();
  }
  ASSERT_GT(files, 0);
  FakeClock clock;
  Progress progress(&clock);
  std::vector<std::string> lines;
  progress.PrintEvery(absl::ZeroDuration(), [&](const std::string& l) { lines.push_back(l); });
  ImportOptions options;
  options.progress = &progress;
  const testing::ImportResult r = RunImport(dir, nullptr, options);
  ASSERT_EQ(r.report.Count(SeriesStatus::kImported), 1) << r.report.ToText();
  const std::string all_files = absl::StrCat("file ", files, "/", files);
  EXPECT_NE(std::find_if(lines.begin(), lines.end(),
                         [&](const std::string& l) {
                           return l.rfind("dicom import: reading headers, " + all_files, 0) == 0;
                         }),
            lines.end());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "dicom import: series 1/1");
  for (const std::string& line : lines) {
    for (const char* secret : {"DOE", "JANE", "MRN", "SECRET", ".dcm"}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in: " << line;
    }
    EXPECT_EQ(line.find("progress/"), std::string::npos) << "a path in: " << line;
  }
}

}  // namespace
}  // namespace scancov::node
