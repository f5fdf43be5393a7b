// Each malformed input gets a clear per-series outcome, and the rest is still imported.
#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "node/imaging/test_util.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;
using testing::FilesByPosition;
using testing::FindSeries;
using testing::FreshDir;
using testing::RunImport;
using testing::SmallSpec;
using testing::WritePhantom;

// A folder holding one good phantom (seed 1) and one phantom (seed 2) to be damaged.
struct TwoSeries {
  std::string root;
  sites::PhantomFiles good;
  sites::PhantomFiles bad;
  std::vector<std::string> bad_sorted;  // the damaged series' files by position
};

TwoSeries MakeTwo(const std::string& name) {
  TwoSeries t;
  t.root = FreshDir(name);
  t.good = WritePhantom(SmallSpec(1, "KB-000001"), t.root + "/good");
  t.bad = WritePhantom(SmallSpec(2, "KB-000002"), t.root + "/bad");
  t.bad_sorted = FilesByPosition(t.bad);
  return t;
}

std::string Name(const TwoSeries& t, const std::string& path) {
  return fs::path(path).lexically_relative(t.root).string();
}

// The damaged series is refused with `needle` in the reason; the good one imported.
void ExpectRefusedAndRestImported(const testing::ImportResult& r, const std::string& needle) {
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 1) << r.report.ToText();
  ASSERT_EQ(r.series.size(), 1u);
  const SeriesReport* s = FindSeries(r.report, needle);
  ASSERT_NE(s, nullptr) << "no series mentions '" << needle << "':\n" << r.report.ToText();
  EXPECT_EQ(s->status, SeriesStatus::kRefused);
}

TEST(DicomMalformed, TruncatedFile) {
  TwoSeries t = MakeTwo("truncated");
  const std::string victim = t.bad_sorted[4];
  testing::TruncateFile(victim, fs::file_size(victim) / 2);
  const testing::ImportResult r = RunImport(t.root);
  ExpectRefusedAndRestImported(r, Name(t, victim));
  const SeriesReport* s = FindSeries(r.report, Name(t, victim));
  EXPECT_TRUE(absl::StrContains(s->reason, "truncated") || absl::StrContains(s->reason, "damaged"))
      << s->reason;
}

TEST(DicomMalformed, FileCutInsideTheHeader) {
  TwoSeries t = MakeTwo("cut_header");
  const std::string victim = t.bad_sorted[0];
  testing::TruncateFile(victim, 300);
  const testing::ImportResult r = RunImport(t.root);
  // The file itself is listed, and its series now misses a slice.
  bool listed = false;
  for (const FileIssue& f : r.report.skipped_files) listed |= f.file == Name(t, victim);
  EXPECT_TRUE(listed) << r.report.ToText();
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2);  // the bad series with 11 slices
}

TEST(DicomMalformed, MissingPixelSpacing) {
  TwoSeries t = MakeTwo("no_spacing");
  testing::EditDicom(t.bad_sorted[6],
                     [](DcmDataset& ds) { ds.findAndDeleteElement(DCM_PixelSpacing); });
  const testing::ImportResult r = RunImport(t.root);
  ExpectRefusedAndRestImported(r, Name(t, t.bad_sorted[6]) + ": PixelSpacing missing");
}

TEST(DicomMalformed, DuplicateSliceWithAnotherInstanceIsRefused) {
  TwoSeries t = MakeTwo("duplicate");
  const std::string copy = t.bad.dicom_dir + "/zz_copy";
  fs::copy_file(t.bad_sorted[5], copy);
  testing::EditDicom(copy, [](DcmDataset& ds) {
    char uid[100];
    ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid));
  });
  const testing::ImportResult r = RunImport(t.root);
  ExpectRefusedAndRestImported(r, "duplicate slice");
}

TEST(DicomMalformed, SameInstanceTwiceIsDroppedWithANote) {
  TwoSeries t = MakeTwo("same_instance");
  fs::copy_file(t.bad_sorted[5], t.bad.dicom_dir + "/zz_copy");
  const testing::ImportResult r = RunImport(t.root);
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2) << r.report.ToText();
  const SeriesReport* s = FindSeries(r.report, "dropped");
  ASSERT_NE(s, nullptr) << r.report.ToText();
  EXPECT_EQ(s->slices, 12);
  EXPECT_EQ(s->files, 13);
}

TEST(DicomMalformed, MissingSliceGap) {
  TwoSeries t = MakeTwo("gap");
  fs::remove(t.bad_sorted[7]);
  const testing::ImportResult r = RunImport(t.root);
  ExpectRefusedAndRestImported(r, "missing slice(s)");
  const SeriesReport* s = FindSeries(r.report, "missing slice(s)");
  EXPECT_TRUE(absl::StrContains(s->reason, Name(t, t.bad_sorted[6]))) << s->reason;
  EXPECT_TRUE(absl::StrContains(s->reason, "about 1 missing")) << s->reason;
}

TEST(DicomMalformed, OrientationMismatch) {
  TwoSeries t = MakeTwo("orientation");
  testing::EditDicom(t.bad_sorted[2], [](DcmDataset& ds) {
    ds.putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\0\\-1");
  });
  const testing::ImportResult r = RunImport(t.root);
  ExpectRefusedAndRestImported(r, "ImageOrientationPatient differs");
}

TEST(DicomMalformed, MissingRescaleRefusedUnlessAssumed) {
  TwoSeries t = MakeTwo("rescale");
  for (const std::string& path : t.bad_sorted) {
    testing::EditDicom(path, [](DcmDataset& ds) {
      ds.findAndDeleteElement(DCM_RescaleIntercept);
      ds.findAndDeleteElement(DCM_RescaleSlope);
    });
  }
  ExpectRefusedAndRestImported(RunImport(t.root), "RescaleSlope/RescaleIntercept missing");
  ImportOptions options;
  options.check.assume_identity_rescale = true;
  const testing::ImportResult r = RunImport(t.root, nullptr, options);
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2) << r.report.ToText();
  EXPECT_NE(FindSeries(r.report, "stored values taken as HU"), nullptr);
}

TEST(DicomMalformed, NonCtObjectIsSkipped) {
  TwoSeries t = MakeTwo("mr");
  // Turn the damaged series into an MR series.
  for (const std::string& path : t.bad_sorted) {
    testing::EditDicom(path, [](DcmDataset& ds) {
      ds.putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
      ds.putAndInsertString(DCM_Modality, "MR");
    });
  }
  const testing::ImportResult r = RunImport(t.root);
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 1) << r.report.ToText();
  const SeriesReport* s = FindSeries(r.report, "not a CT image (Modality MR");
  ASSERT_NE(s, nullptr) << r.report.ToText();
  EXPECT_EQ(s->status, SeriesStatus::kSkipped);
  EXPECT_EQ(s->files, 12);
}

TEST(DicomMalformed, NonDicomFilesAreListed) {
  TwoSeries t = MakeTwo("non_dicom");
  std::ofstream(t.root + "/notes.txt") << "scanner log, not an image\n";
  std::ofstream(t.root + "/empty.dcm");
  const testing::ImportResult r = RunImport(t.root);
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 2) << r.report.ToText();
  int not_dicom = 0;
  for (const FileIssue& f : r.report.skipped_files) {
    if (f.reason == "not a DICOM file") ++not_dicom;
  }
  // notes.txt, empty.dcm, and each phantom's truth.json and two .nii.gz files.
  EXPECT_EQ(not_dicom, 8) << r.report.ToText();
}

TEST(DicomMalformed, NotADirectory) {
  DicomImporter importer(testing::TestPseudonymizer());
  EXPECT_EQ(importer.Scan("/nonexistent/scancov").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace scancov::node
