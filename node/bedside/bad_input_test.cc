// Missing and implausible inputs: each gives a clear message naming the input or the file and
// why, and no score pretending to be valid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "node/bedside/bedside_report.h"
#include "node/bedside/bedside_test_util.h"
#include "node/bedside/score_patient.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::node {
namespace {

using testing::DefaultRequest;
using ::testing::HasSubstr;
using testing::SharedPhantom;

// Scores the shared phantom with one clinical value changed (NaN removes it).
BedsideResult ScoreWith(const std::string& name, double value) {
  BedsideRequest request = DefaultRequest(SharedPhantom().dicom_dir);
  request.clinical.Set(name, value);
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_TRUE(r.ok()) << r.status();  // the CT part is still valid
  return r.ok() ? *std::move(r) : BedsideResult{};
}

void ExpectIncomplete(const BedsideResult& r, const std::string& why) {
  EXPECT_FALSE(r.complete());
  EXPECT_FALSE(r.scancov.available);
  EXPECT_THAT(r.scancov.reason, HasSubstr(why));
  const std::string text = BedsideSummaryText(r);
  EXPECT_THAT(text, HasSubstr("INCOMPLETE: no valid ScanCov score"));
  EXPECT_THAT(text, HasSubstr("ScanCov:  NOT COMPUTED - "));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("probability")));
  EXPECT_THAT(BedsideResultJson(r), HasSubstr("\"complete\": false"));
  EXPECT_THAT(BedsideReportHtml(r), HasSubstr("INCOMPLETE"));
  // The CT part is kept, clearly apart.
  EXPECT_GT(r.lesions.both.volume_ml, 1000.0);
}

TEST(BedsideBadInput, Spo2Of150) {
  const BedsideResult r = ScoreWith("spo2", 150);
  ExpectIncomplete(r, "spo2: implausible value, expected 50..100 %");
  ASSERT_EQ(r.input_problems.size(), 1u);
  EXPECT_EQ(r.input_problems[0], "clinical input: spo2: implausible value, expected 50..100 %");
  // The value itself is never quoted.
  EXPECT_THAT(r.scancov.reason, ::testing::Not(HasSubstr("150")));
}

TEST(BedsideBadInput, Spo2AsAFraction) {
  ExpectIncomplete(ScoreWith("spo2", 0.91), "looks like a fraction 0-1; multiply by 100 for %");
}

TEST(BedsideBadInput, PlateletsPerMicrolitre) {
  const BedsideResult r = ScoreWith("platelets", 210000);
  ExpectIncomplete(r, "platelets: implausible value, expected 1..2000 G/L (looks like a count");
}

TEST(BedsideBadInput, MissingUrea) {
  const BedsideResult r = ScoreWith("urea", NAN);
  ExpectIncomplete(r, "not computable, missing: urea (mmol/L)");
  EXPECT_TRUE(r.input_problems.empty());
}

TEST(BedsideBadInput, ImplausibleOptionalInputKeepsScanCov) {
  const BedsideResult r = ScoreWith("ldh", 3.2);  // ukat/L instead of U/L
  EXPECT_TRUE(r.complete());
  ASSERT_EQ(r.input_problems.size(), 1u);
  EXPECT_THAT(r.input_problems[0], HasSubstr("ldh: implausible value"));
  EXPECT_THAT(r.input_problems[0], HasSubstr("multiply by 60 for U/L"));
  EXPECT_FALSE(r.call.available);  // CALL reads LDH: not scored from a wrong unit
  EXPECT_THAT(r.call.reason, HasSubstr("ldh"));
}

TEST(BedsideBadInput, EmptyFolder) {
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(testing::FreshDir("empty")));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("the folder has no files"));
  EXPECT_THAT(r.status().message(), HasSubstr("bedside_empty"));
}

TEST(BedsideBadInput, FolderWithoutDicom) {
  const std::string dir = testing::FreshDir("no_dicom");
  std::ofstream(dir + "/notes.txt") << "not an image\n";
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(dir));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("no DICOM file (file notes.txt: not a DICOM file)"));
}

TEST(BedsideBadInput, NotADirectory) {
  absl::StatusOr<BedsideResult> r =
      ScorePatient(DefaultRequest(testing::FreshDir("nodir") + "/missing"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("bedside: "));
}

// A CT series of a soft-tissue cylinder (an abdomen-like slab, no air inside): no lungs.
TEST(BedsideBadInput, NonChestSeriesIsRefused) {
  sites::PhantomSpec spec = testing::ChestSpec(31, 0.0, 0.0);
  absl::StatusOr<sites::PhantomVolume> volume = sites::GeneratePhantomVolume(spec);
  ASSERT_TRUE(volume.ok());
  const sites::PhantomGrid& g = volume->grid;
  for (int k = 0; k < g.nz; ++k) {
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const double x = (i - g.nx / 2.0) * g.dx, y = (j - g.ny / 2.0) * g.dy;
        volume->hu[g.Index(k, j, i)] =
            x * x / (160.0 * 160) + y * y / (110.0 * 110) < 1 ? 40 : -1000;
      }
    }
  }
  std::fill(volume->lung_labels.begin(), volume->lung_labels.end(), 0);
  std::fill(volume->lesion_labels.begin(), volume->lesion_labels.end(), 0);
  absl::StatusOr<sites::PhantomFiles> files =
      sites::WritePhantomFiles(spec, *volume, testing::FreshDir("abdomen"));
  ASSERT_TRUE(files.ok()) << files.status();
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(files->dicom_dir));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("no chest CT: series "));
  EXPECT_THAT(r.status().message(), HasSubstr("(40 slices): not a chest CT"));
}

// The whole chest squeezed into 8 slices of 5 mm: lungs of about 0.8 L, below the 1 L bound.
TEST(BedsideBadInput, TooLittleLungIsRefused) {
  sites::PhantomSpec spec = testing::ChestSpec(32, 0.1, 0.1);
  spec.scanner.number_of_slices = 8;
  const sites::PhantomFiles files = testing::WriteChestPhantom(spec, "short");
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(files.dicom_dir));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("not a chest CT: total lung volume"));
  EXPECT_THAT(r.status().message(), HasSubstr("is below 1.00 L"));
}

// The real JPEG 2000 lossless series (pelvis level) is decoded now; it is refused for its
// anatomy, not its transfer syntax.
TEST(BedsideBadInput, RealJpeg2000PelvisIsDecodedButNotAChestCt) {
  const std::string dir = "../shared/data/totalsegmentator_ct/example_ct_dicom";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no shared data";
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(dir));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("no chest CT: series "));
  EXPECT_THAT(r.status().message(), HasSubstr("(20 slices): not a chest CT"));
  EXPECT_THAT(r.status().message(), ::testing::Not(HasSubstr("transfer syntax")));
}

// A chest phantom whose pixel data is re-labelled MPEG-2 video (one fragment holding a
// sequence header start code): a syntax no decoder of this build takes, refused by name.
TEST(BedsideBadInput, Mpeg2SeriesIsRefusedByName) {
  const sites::PhantomFiles files =
      testing::WriteChestPhantom(testing::ChestSpec(33, 0.1, 0.1), "mpeg2");
  for (const std::string& path : files.dicom.files) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(path.c_str()).good()) << path;
    f.loadAllDataIntoMemory();
    auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
    sequence->insert(new DcmPixelItem(DCM_PixelItemTag));  // empty Basic Offset Table
    auto* fragment = new DcmPixelItem(DCM_PixelItemTag);
    const Uint8 bytes[8] = {0x00, 0x00, 0x01, 0xB3, 0x10, 0x00, 0x80, 0x13};
    ASSERT_TRUE(fragment->putUint8Array(bytes, sizeof bytes).good());
    sequence->insert(fragment);
    auto* pixels = new DcmPixelData(DCM_PixelData);
    pixels->putOriginalRepresentation(EXS_MPEG2MainProfileAtMainLevel, nullptr, sequence);
    ASSERT_TRUE(f.getDataset()->insert(pixels, /*replaceOld=*/true).good());
    ASSERT_TRUE(f.saveFile(path.c_str(), EXS_MPEG2MainProfileAtMainLevel).good()) << path;
  }
  absl::StatusOr<BedsideResult> r = ScorePatient(DefaultRequest(files.dicom_dir));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("no CT series that can be decoded"));
  EXPECT_THAT(r.status().message(), HasSubstr("(1.2.840.10008.1.2.4.100) cannot be decoded"));
  EXPECT_THAT(r.status().message(), HasSubstr("(40 files) refused: file "));
}

TEST(BedsideBadInput, MissingSecretIsRefused) {
  BedsideRequest request = DefaultRequest(SharedPhantom().dicom_dir);
  request.options.secret_path = testing::FreshDir("nosecret") + "/site.secret";
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("site.secret: not found"));
  EXPECT_FALSE(std::filesystem::exists(request.options.secret_path));  // not created
  request.options.secret_path.clear();
  EXPECT_THAT(ScorePatient(request).status().message(), HasSubstr("no site secret"));
}

TEST(BedsideBadInput, BrokenAiScoreModelIsRefused) {
  const std::string path = testing::FreshDir("model") + "/model.json";
  std::ofstream(path) << R"({"features": ["age"], "coefficients": [1.0]})";
  BedsideRequest request = DefaultRequest(SharedPhantom().dicom_dir);
  request.options.aiscore_model_path = path;
  absl::StatusOr<BedsideResult> r = ScorePatient(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("aiscore model " + path + ": 'coefficients'"));
}

}  // namespace
}  // namespace scancov::node
