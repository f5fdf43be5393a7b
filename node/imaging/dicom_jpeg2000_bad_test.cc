// Damaged or inconsistent JPEG 2000 files: the series is refused with the file and the reason,
// OpenJPEG prints nothing, and the other series of the import is still imported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <random>

#include "node/imaging/jpeg2000_test_util.h"
#include "node/imaging/test_util.h"

namespace scancov::node {
namespace {

namespace fs = std::filesystem;
using testing::Bytes;
using ::testing::HasSubstr;
using ::testing::Not;

// A folder with a good JPEG 2000 series (seed 1) and one (seed 2) to be damaged.
struct TwoSeries {
  std::string root;
  std::vector<std::string> bad_sorted;  // the damaged series' files by position
  std::map<std::string, Bytes> codestreams;
};

TwoSeries MakeTwo(const std::string& name) {
  TwoSeries t;
  t.root = testing::FreshDir(name);
  const sites::PhantomFiles good =
      testing::WritePhantom(testing::SmallSpec(1, "KB-000001"), t.root + "/good");
  const sites::PhantomFiles bad =
      testing::WritePhantom(testing::SmallSpec(2, "KB-000002"), t.root + "/bad");
  t.bad_sorted = testing::FilesByPosition(bad);
  for (const sites::PhantomFiles* files : {&good, &bad}) {
    for (const std::string& path : files->dicom.files) {
      t.codestreams[path] = testing::ConvertToJpeg2000(path);
    }
  }
  return t;
}

// Imports t.root with stderr captured: the damaged series is refused with "file <victim>: "
// (any file of it when `victim` is empty: every one is damaged and decoding is parallel) and
// `why` in its reason, the good one imported, and nothing printed to stderr.
void ExpectRefused(const TwoSeries& t, const std::string& victim, const std::string& why) {
  ::testing::internal::CaptureStderr();
  const testing::ImportResult r = testing::RunImport(t.root);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "") << "printed to stderr";
  EXPECT_EQ(r.report.Count(SeriesStatus::kImported), 1) << r.report.ToText();
  EXPECT_EQ(r.series.size(), 1u);
  const SeriesReport* s = testing::FindSeries(r.report, why);
  ASSERT_NE(s, nullptr) << "no series mentions '" << why << "':\n" << r.report.ToText();
  EXPECT_EQ(s->status, SeriesStatus::kRefused);
  const std::string name =
      victim.empty() ? "bad/dicom/" : fs::path(victim).lexically_relative(t.root).string();
  EXPECT_THAT(s->reason, HasSubstr("file " + name));
  EXPECT_THAT(s->reason, HasSubstr(": JPEG 2000 frame 1: " + why));
  EXPECT_THAT(s->reason, Not(HasSubstr("KB-000002")));  // no patient identifier
  std::cout << s->reason << "\n";                       // the steward's view, in the test log
}

TEST(DicomJpeg2000Bad, TruncatedCodestreamIsRefused) {
  const TwoSeries t = MakeTwo("j2k_truncated");
  const std::string victim = t.bad_sorted[5];
  const Bytes& full = t.codestreams.at(victim);
  testing::RewriteFragments(victim, {{Bytes(full.begin(), full.begin() + full.size() / 2)}});
  ExpectRefused(t, victim, "damaged JPEG 2000 codestream (decoding failed: OpenJPEG: ");
}

TEST(DicomJpeg2000Bad, GarbageInsteadOfCodestreamIsRefused) {
  const TwoSeries t = MakeTwo("j2k_garbage");
  const std::string victim = t.bad_sorted[2];
  std::mt19937 rng(7);
  Bytes garbage(4000);
  for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
  testing::RewriteFragments(victim, {{garbage}});
  ExpectRefused(t, victim, "not a JPEG 2000 codestream (no SOC marker and no JP2 signature");
}

// The SOC marker kept, the main header after it overwritten: OpenJPEG's header parser refuses.
TEST(DicomJpeg2000Bad, GarbageMainHeaderIsRefused) {
  const TwoSeries t = MakeTwo("j2k_garbage_header");
  const std::string victim = t.bad_sorted[7];
  Bytes damaged = t.codestreams.at(victim);
  std::mt19937 rng(11);
  for (size_t i = 4; i < 64; ++i) damaged[i] = static_cast<uint8_t>(rng());
  testing::RewriteFragments(victim, {{damaged}});
  ExpectRefused(t, victim, "damaged JPEG 2000 codestream (header failed: OpenJPEG: ");
}

TEST(DicomJpeg2000Bad, EmptyPixelSequenceIsRefused) {
  const TwoSeries t = MakeTwo("j2k_empty");
  const std::string victim = t.bad_sorted[0];
  testing::RewriteFragments(victim, {{}});
  ExpectRefused(t, victim, "encapsulated pixel data holds no fragment");
}

// Every file of the series says 48 x 48 (so the series' own checks pass); the codestreams are
// 96 x 96.
TEST(DicomJpeg2000Bad, HeaderSizeDifferentFromCodestreamIsRefused) {
  const TwoSeries t = MakeTwo("j2k_size");
  for (const std::string& path : t.bad_sorted) {
    testing::EditDicom(path, [](DcmDataset& ds) {
      ds.putAndInsertUint16(DCM_Rows, 48);
      ds.putAndInsertUint16(DCM_Columns, 48);
    });
  }
  ExpectRefused(t, "", "image 96x96, Columns x Rows 48x48 (codestream and header differ)");
}

TEST(DicomJpeg2000Bad, ColourCodestreamIsRefused) {
  const TwoSeries t = MakeTwo("j2k_rgb");
  const std::string victim = t.bad_sorted[3];
  std::vector<int32_t> rgb;  // three 8-bit planes of 96 x 96
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 96 * 96; ++i) rgb.push_back((i + 40 * c) % 251);
  }
  testing::RewriteFragments(victim, {{testing::EncodeJ2k(rgb, 96, 96, 3, 8, false)}});
  ExpectRefused(t, victim, "3 components, SamplesPerPixel 1 (codestream and header differ)");
}

TEST(DicomJpeg2000Bad, PrecisionDifferentFromBitsStoredIsRefused) {
  const TwoSeries t = MakeTwo("j2k_precision");
  for (const std::string& path : t.bad_sorted) {
    testing::EditDicom(path, [](DcmDataset& ds) {
      ds.putAndInsertUint16(DCM_BitsStored, 12);
      ds.putAndInsertUint16(DCM_HighBit, 11);
    });
  }
  ExpectRefused(t, "", "precision 16 bits, BitsStored 12");
}

// Unsigned samples in the codestream, PixelRepresentation 1 in every header.
TEST(DicomJpeg2000Bad, SignednessDifferentFromHeaderIsRefused) {
  const TwoSeries t = MakeTwo("j2k_sign");
  for (const std::string& path : t.bad_sorted) {
    testing::EditDicom(path,
                       [](DcmDataset& ds) { ds.putAndInsertUint16(DCM_PixelRepresentation, 1); });
  }
  ExpectRefused(t, "", "unsigned samples, PixelRepresentation 1");
}

}  // namespace
}  // namespace scancov::node
